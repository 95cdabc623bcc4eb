import { RedisServer } from '@kernel/testing';
import { ledgerFixture, LedgerFixture } from '../support/accounts-fixture';

/** A later history page reads the list under WATCH: its read errors are errors, not "no account" or "no entries". */
describe.each(['functions', 'transactions'] as const)('history pages on a corrupted list (%s)', (strategy) => {
  let server: RedisServer;
  let fixture: LedgerFixture;
  beforeAll(async () => {
    server = await RedisServer.start();
    fixture = await ledgerFixture(strategy, server, { ledger: 'cursor' });
  });
  afterAll(async () => {
    await fixture.close();
    await server.stop();
  });

  it('says STORE_CORRUPTED when the history key holds another type', async () => {
    const { ledger } = fixture;
    await ledger.open({ id: 'a', balance: 100 });
    await ledger.open({ id: 'b' });
    for (let i = 1; i <= 3; i++) await ledger.transfer({ from: 'a', to: 'b', amount: i });
    const { next } = await ledger.history('a', { limit: 1 });
    const admin = server.client();
    await admin.del('ra:{cursor}:hist:a');
    await admin.set('ra:{cursor}:hist:a', 'not a list');
    await expect(ledger.history('a', { limit: 1, cursor: next! })).rejects.toMatchObject({
      code: 'STORE_CORRUPTED', message: expect.stringMatching(/another type|WRONGTYPE/) }); // refused on the read, not by accident later
  });
});
