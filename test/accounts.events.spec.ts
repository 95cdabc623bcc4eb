/**
 * The Accounts event log as an outbox: after a concurrent mixed workload (transfers, batches, deposits,
 * withdrawals, idempotent retries, failures), replaying the ledger's stream from the empty state reproduces every
 * balance exactly — each event's resulting balances included — and there is exactly one event per successful
 * operation. Then: the cap (EVENTS_MAXLEN, approximate) and an event log of the wrong type (nothing written).
 */
import { isReplayed } from '@kernel/core';
import { RedisServer } from '@kernel/testing';
import { ATOMIC_STRATEGIES } from '@kernel/core';
import type { EventView } from '../src/events/events.port';
import { LedgerFixture, ledgerFixture } from './support/accounts-fixture';

let server: RedisServer;
beforeAll(async () => (server = await RedisServer.start()));
afterAll(() => server.stop());

/** A small deterministic generator (the workload is the same on every run). */
function random(seed: number): (n: number) => number {
  let state = seed;
  return (n) => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state % n;
  };
}

/** Applies the events to an empty ledger, checking every balance an event states against the replayed one. */
function replay(events: EventView[]): Map<string, number> {
  const balances = new Map<string, number>();
  const move = (account: string, delta: number, stated: unknown) => {
    const balance = balances.get(account)! + delta;
    balances.set(account, balance);
    expect({ account, balance }).toEqual({ account, balance: stated });
  };
  for (const { type, data } of events) {
    const d = data as any;
    switch (type) {
      case 'account.opened': balances.set(d.account, d.balance); break;
      case 'account.deposited': move(d.account, d.amount, d.balance); break;
      case 'account.withdrawn': move(d.account, -d.amount, d.balance); break;
      case 'transfer.completed':
      case 'transfer.batch_completed':
        for (const t of type === 'transfer.completed' ? [d] : d.transfers) {
          move(t.from, -t.amount, t.fromBalance);
          move(t.to, t.amount, t.toBalance);
        }
        break;
      default: throw new Error(`unexpected event type ${type}`);
    }
  }
  return balances;
}

describe.each(ATOMIC_STRATEGIES)('Accounts event log — %s', (strategy) => {
  let fixture: LedgerFixture;
  afterEach(() => fixture?.close());

  it('replaying the stream after a concurrent mixed workload reproduces every balance; one event per success', async () => {
    fixture = await ledgerFixture(strategy, server, { ledger: `replay-${strategy}` });
    const { ledger } = fixture;
    const ids = Array.from({ length: 6 }, (_, i) => `acct-${i}`);
    await Promise.all(ids.map((id, i) => ledger.open({ id, balance: 500, minBalance: i === 0 ? -300 : 0 })));
    let successes = ids.length;
    const rand = random(42);
    const pick = () => ids[rand(ids.length)];
    const other = (id: string) => ids[(ids.indexOf(id) + 1 + rand(ids.length - 1)) % ids.length];
    const operations: (() => Promise<unknown>)[] = [];
    for (let i = 0; i < 240; i++) {
      const from = pick();
      const to = other(from);
      const amount = 1 + rand(300);
      const kind = rand(5);
      const second = { from: to, to: other(to), amount: 1 + rand(200) };
      const key = rand(4) === 0 ? { idempotencyKey: `k-${i}` } : undefined;
      const op = kind === 0 ? () => ledger.deposit({ id: from, amount }, key)
        : kind === 1 ? () => ledger.withdraw({ id: from, amount }, key)
        : kind === 2 ? () => ledger.transferBatch([{ from, to, amount }, second], key)
        : () => ledger.transfer({ from, to, amount }, key);
      operations.push(op);
      if (key) operations.push(op); // a retry with the same key: replayed, never a second effect
    }
    const run = async (op: () => Promise<unknown>) => {
      try {
        if (!isReplayed(await op())) successes += 1;
      } catch (error) {
        expect((error as { code?: string }).code).toMatch(/^(INSUFFICIENT_FUNDS|CONFLICT|IDEMPOTENCY_KEY_IN_PROGRESS)$/);
      }
    };
    const queue = [...operations];
    await Promise.all(Array.from({ length: 16 }, async () => {
      for (let op = queue.shift(); op; op = queue.shift()) await run(op);
    }));

    const events = await fixture.events();
    expect(events).toHaveLength(successes);
    expect(successes).toBeGreaterThan(ids.length + 50); // the workload did commit a lot
    const ordered = events.map((e) => e.id.split('-').map(Number));
    for (let i = 1; i < ordered.length; i++) {
      const [[ms0, seq0], [ms1, seq1]] = [ordered[i - 1], ordered[i]];
      expect(ms1 > ms0 || (ms1 === ms0 && seq1 > seq0)).toBe(true);
    }
    const replayed = replay(events);
    const actual = new Map(await Promise.all(ids.map(async (id) => [id, (await ledger.get(id)).balance] as const)));
    expect(replayed).toEqual(actual);
    expect([...actual.values()].reduce((a, b) => a + b, 0)).toBe([...replayed.values()].reduce((a, b) => a + b, 0));
  }, 30_000);

  it('caps the stream near eventsMaxLen (approximate trim) and keeps the newest events', async () => {
    fixture = await ledgerFixture(strategy, server, { ledger: `cap-${strategy}`, eventsMaxLen: 10 });
    await fixture.ledger.open({ id: 'a' });
    for (let i = 1; i <= 400; i++) await fixture.ledger.deposit({ id: 'a', amount: i });
    const events = await fixture.events();
    expect(events.length).toBeGreaterThanOrEqual(10);
    expect(events.length).toBeLessThan(250); // MAXLEN ~ trims whole stream nodes (100 entries by default)
    expect(events.at(-1)!.data).toEqual(expect.objectContaining({ amount: 400, balance: 400 * 401 / 2 }));
  });

  if (strategy !== 'memory') {
    it('refuses to write when the event log is not a stream: STORE_CORRUPTED, nothing written', async () => {
      const ledgerName = `corrupt-${strategy}`;
      fixture = await ledgerFixture(strategy, server, { ledger: ledgerName });
      await fixture.ledger.open({ id: 'a', balance: 100 });
      await fixture.ledger.open({ id: 'b' });
      const client = server.client();
      try {
        await client.del(`ra:{${ledgerName}}:events`);
        await client.set(`ra:{${ledgerName}}:events`, 'not a stream');
        const before = await fixture.rawSnapshot!();
        for (const write of [
          () => fixture.ledger.open({ id: 'c' }),
          () => fixture.ledger.deposit({ id: 'a', amount: 1 }),
          () => fixture.ledger.withdraw({ id: 'a', amount: 1 }),
          () => fixture.ledger.transfer({ from: 'a', to: 'b', amount: 1 }),
          () => fixture.ledger.transferBatch([{ from: 'a', to: 'b', amount: 1 }]),
        ]) {
          await expect(write()).rejects.toMatchObject({ code: 'STORE_CORRUPTED' });
        }
        expect(await fixture.rawSnapshot!()).toBe(before);
      } finally {
        client.disconnect();
      }
    });
  }
});
