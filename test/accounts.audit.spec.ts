/**
 * The board's reads on the Accounts port and the ledger audit, on every adapter (one contract, every strategy):
 * - listPending: open reservations only, soonest deadline first, bounded, validated; an expired one shows
 *   `expired` until a sweep releases it, then leaves the list;
 * - the audit (LEDGER_AUDIT, wired from the ports as in the service): consistent after a mixed workload (plain,
 *   pending, batched, posted, voided transfers, deposits, withdrawals); a balance corrupted behind the port is
 *   reported (first mismatch: account, field, stored, expected); a trimmed stream is `unprovable`, never a pass;
 *   audits racing a concurrent workload never report a false mismatch;
 * - `redis-atomic audit` (npm run audit): exit 0 and the verdict on a sound ledger, exit 1 and the first mismatch on a
 *   corrupted one.
 */
import { Test, TestingModule } from '@nestjs/testing';
import { randomBytes } from 'node:crypto';
import { AtomicStrategy, ATOMIC_STRATEGIES } from '@kernel/core';
import { RedisAtomicModule } from '@kernel/nest';
import { RedisServer } from '@kernel/testing';
import { AccountsModule } from '../src/accounts/accounts.module';
import { ACCOUNTS_LEDGER, AccountsLedger } from '../src/accounts/accounts.port';
import { AuditReport, LEDGER_AUDIT, LedgerAudit } from '../src/accounts/audit/audit.port';
import { auditLedger } from '../src/accounts/audit/ledger-audit';
import { LedgerAuditModule, namedStream } from '../src/board/ledger-audit.module';
import { EventsModule } from '../src/events/events.module';
import { EVENT_LOG, EventLog } from '../src/events/events.port';
import { eventually } from './contract/pending.contract';
import { runProcess } from './support/cli';
import { AUDIT_EXIT, auditCommand } from '../src/cli-audit';

let server: RedisServer;
beforeAll(async () => (server = await RedisServer.start()), 30_000);
afterAll(() => server?.stop());

interface Fixture {
  name: string;
  ledger: AccountsLedger;
  audit: LedgerAudit;
  log: EventLog;
  /** Adds `delta` to an account's stored balance behind the port (no event, no history): a corrupted store. */
  corrupt(account: string, delta: number): Promise<void>;
  close(): Promise<void>;
}

async function fixture(strategy: AtomicStrategy, eventsMaxLen?: number): Promise<Fixture> {
  const name = `audit-${randomBytes(4).toString('hex')}`;
  const moduleRef: TestingModule = await Test.createTestingModule({
    imports: [
      ...(strategy === 'memory' ? [] : [RedisAtomicModule.forRoot({ url: server.url })]),
      AccountsModule.forRoot({ strategy, ledger: name, http: false, ...(eventsMaxLen && { eventsMaxLen }) }),
      EventsModule.forRoot({ strategy, http: false, streams: { ledger: name } }),
      LedgerAuditModule.forRoot({ ledgers: [{ name, stream: 'ledger' }] }),
    ],
  }).compile();
  await moduleRef.init();
  const ledger = moduleRef.get<AccountsLedger>(ACCOUNTS_LEDGER);
  const client = strategy === 'memory' ? undefined : server.client();
  return {
    name, ledger, audit: moduleRef.get<LedgerAudit>(LEDGER_AUDIT), log: moduleRef.get<EventLog>(EVENT_LOG),
    corrupt: async (account, delta) => {
      if (client) {
        await client.hincrby(`ra:{${name}}:acct:${account}`, 'b', delta);
        return;
      }
      // The memory adapter behind the validation gate: its own map of accounts (what a bug there would change).
      const inner = (ledger as unknown as { inner: { accounts: Map<string, { balance: number }> } }).inner;
      inner.accounts.get(account)!.balance += delta;
    },
    close: async () => {
      await moduleRef.close();
      client?.disconnect();
    },
  };
}

describe.each(ATOMIC_STRATEGIES)('listPending and the ledger audit — %s', (strategy) => {
  let f: Fixture;
  beforeEach(async () => (f = await fixture(strategy)));
  afterEach(() => f?.close());

  it('listPending: open reservations only, soonest deadline first, bounded and validated', async () => {
    const { ledger } = f;
    for (const id of ['a', 'b', 'c']) await ledger.open({ id, balance: 1000 });
    const late = await ledger.transfer({ from: 'a', to: 'b', amount: 10, pending: true, timeoutSeconds: 3600 });
    const soon = await ledger.transfer({ from: 'b', to: 'c', amount: 20, pending: true, timeoutSeconds: 60 });
    const middle = await ledger.transfer({ from: 'c', to: 'a', amount: 30, pending: true, timeoutSeconds: 600 });
    const posted = await ledger.transfer({ from: 'a', to: 'c', amount: 40, pending: true, timeoutSeconds: 600 });
    const voided = await ledger.transfer({ from: 'a', to: 'c', amount: 50, pending: true, timeoutSeconds: 600 });
    await ledger.transfer({ from: 'a', to: 'b', amount: 5 }); // a plain transfer is never listed
    await ledger.postTransfer({ id: posted.id, amount: 15 });
    await ledger.voidTransfer({ id: voided.id });

    const listed = await ledger.listPending();
    expect(listed.map((t) => [t.id, t.status, t.amount, t.from, t.to])).toEqual([
      [soon.id, 'pending', 20, 'b', 'c'], [middle.id, 'pending', 30, 'c', 'a'], [late.id, 'pending', 10, 'a', 'b'],
    ]);
    expect(listed[0]).toEqual(await ledger.getTransfer(soon.id));
    expect((await ledger.listPending(1)).map((t) => t.id)).toEqual([soon.id]);
    for (const bad of [0, 1001, 1.5]) await expect(ledger.listPending(bad)).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
  });

  it('listPending: a lapsed reservation shows expired until a sweep releases it, then leaves the list', async () => {
    const { ledger } = f;
    await ledger.open({ id: 'x', balance: 100 });
    await ledger.open({ id: 'y' });
    const short = await ledger.transfer({ from: 'x', to: 'y', amount: 7, pending: true, timeoutSeconds: 1 });
    expect((await ledger.listPending()).map((t) => [t.id, t.status])).toEqual([[short.id, 'pending']]);
    await eventually(async () => (await ledger.listPending())[0]?.status === 'expired', 'the reservation reads expired');
    await eventually(async () => (await ledger.sweepExpired(10)).expired.includes(short.id), 'a sweep releases it');
    expect(await ledger.listPending()).toEqual([]);
  });

  async function workload(ledger: AccountsLedger): Promise<void> {
    await ledger.open({ id: 'alice', balance: 10_000 });
    await ledger.open({ id: 'bob', balance: 500, minBalance: -200 });
    await ledger.open({ id: 'carol' });
    await ledger.deposit({ id: 'carol', amount: 300 });
    await ledger.withdraw({ id: 'alice', amount: 1_000 });
    await ledger.transfer({ from: 'alice', to: 'bob', amount: 2_500 });
    await ledger.transferBatch([
      { from: 'bob', to: 'carol', amount: 100 },
      { from: 'alice', to: 'carol', amount: 70, pending: true, timeoutSeconds: 600 },
    ]);
    const held = await ledger.transfer({ from: 'bob', to: 'alice', amount: 400, pending: true, timeoutSeconds: 600 });
    const released = await ledger.transfer({ from: 'carol', to: 'bob', amount: 50, pending: true, timeoutSeconds: 600 });
    await ledger.transfer({ from: 'carol', to: 'alice', amount: 25, pending: true, timeoutSeconds: 600 }); // stays open
    await ledger.postTransfer({ id: held.id, amount: 150 });
    await ledger.voidTransfer({ id: released.id });
    await expect(ledger.withdraw({ id: 'carol', amount: 1_000_000 })).rejects.toMatchObject({ code: 'INSUFFICIENT_FUNDS' });
  }

  it('the audit proves a sound ledger: every balance and pending side, Σ balances = Σ opens + deposits − withdrawals', async () => {
    await workload(f.ledger);
    const report = await f.audit.audit(f.name);
    const stored = await Promise.all(['alice', 'bob', 'carol'].map((id) => f.ledger.get(id)));
    const sum = stored.reduce((s, a) => s + a.balance, 0);
    expect(report).toMatchObject({
      ledger: f.name, verdict: 'consistent', accounts: 3, mismatches: 0, concurrent: false, events: 12,
      stream: { length: 12, added: 12 },
      totals: { stored: sum, expected: 10_500 + 300 - 1_000, opened: 10_500, deposited: 300, withdrawn: 1_000, checked: true,
        pendingStored: stored.reduce((s, a) => s + a.pendingDebits, 0), pendingExpected: 70 + 25 },
    });
    expect(sum).toBe(9_800);
    expect(report.firstMismatch).toBeUndefined();
    await expect(f.audit.audit('no-such-ledger')).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
  });

  it('the audit reports a balance corrupted behind the port: the first mismatch, and Σ no longer adds up', async () => {
    await workload(f.ledger);
    const bob = await f.ledger.get('bob');
    await f.corrupt('bob', 7);
    const report = await f.audit.audit(f.name);
    expect(report).toMatchObject({
      verdict: 'mismatch', mismatches: 1, concurrent: false,
      firstMismatch: { account: 'bob', field: 'balance', stored: bob.balance + 7, expected: bob.balance, eventId: expect.any(String) },
      totals: { checked: true, expected: 9_800, stored: 9_807 },
    });
    await f.corrupt('bob', -7); // and back: consistent again
    expect((await f.audit.audit(f.name)).verdict).toBe('consistent');
  });

  it('audits racing a concurrent workload never report a false mismatch', async () => {
    const ids = ['p0', 'p1', 'p2', 'p3'];
    for (const id of ids) await f.ledger.open({ id, balance: 1_000 });
    let stop = false;
    const writers = [0, 1].map(async (w) => {
      for (let i = 0; !stop && i < 400; i++) {
        const from = ids[(i + w) % 4];
        const to = ids[(i + w + 1) % 4];
        await f.ledger.transfer({ from, to, amount: 1 + (i % 5) }).catch((err) => {
          if (!['INSUFFICIENT_FUNDS', 'CONFLICT'].includes(err.code)) throw err;
        });
      }
    });
    const reports: AuditReport[] = [];
    try {
      for (let i = 0; i < 3; i++) reports.push(await f.audit.audit(f.name));
    } finally {
      stop = true;
      await Promise.all(writers);
    }
    for (const r of reports) expect({ verdict: r.verdict, firstMismatch: r.firstMismatch }).toEqual({ verdict: 'consistent', firstMismatch: undefined });
    const quiet = await f.audit.audit(f.name);
    expect(quiet).toMatchObject({ verdict: 'consistent', concurrent: false, totals: { checked: true, stored: 4_000, expected: 4_000 } });
  });

  it('a write between the audit\'s reads (every attempt): each account proven against the states the stream gave it; a corruption still found', async () => {
    for (const id of ['m0', 'm1']) await f.ledger.open({ id, balance: 100 });
    // The stream as the audit sees it, with a transfer committed each time the audit has read it to its end: the
    // stored balances it reads next are newer than its replay (deterministically, on every attempt).
    const racing = (corruptAfter?: number) => {
      const inner = namedStream(f.log, 'ledger');
      let ends = 0;
      return {
        info: inner.info,
        read: async (after: string | undefined, limit: number) => {
          const page = await inner.read(after, limit);
          if (page.next === null) {
            ends += 1;
            await f.ledger.transfer({ from: 'm0', to: 'm1', amount: 1 }); // after each read to the end, before the stored reads
            if (ends === corruptAfter) await f.corrupt('m1', 1_000);
          }
          return page;
        },
      };
    };
    const report = await auditLedger(f.name, f.ledger, racing(), { attempts: 3 });
    expect(report).toMatchObject({ verdict: 'consistent', concurrent: true, mismatches: 0, totals: { checked: false }, reason: expect.stringMatching(/changed/) });
    // a stream still empty when the audit asked what it holds, written before it read: nothing was trimmed, consistent
    const emptyAtFirst = { ...namedStream(f.log, 'ledger'), info: async () => ({ length: 0, added: 0, firstId: null }) };
    expect(await auditLedger(f.name, f.ledger, emptyAtFirst)).toMatchObject({ verdict: 'consistent', accounts: 2 });
    // …but a first entry other than the oldest kept when asked: entries were trimmed in between, unprovable
    const info = await f.log.info('ledger');
    const trimmedMeanwhile = { ...namedStream(f.log, 'ledger'), info: async () => ({ ...info, firstId: '1-0' }) };
    expect(await auditLedger(f.name, f.ledger, trimmedMeanwhile)).toMatchObject({ verdict: 'unprovable', reason: expect.stringMatching(/trimmed while/) });
    const corrupted = await auditLedger(f.name, f.ledger, racing(1), { attempts: 3 });
    expect(corrupted).toMatchObject({ verdict: 'mismatch', firstMismatch: { account: 'm1', field: 'balance' } });
  });
});

describe.each(ATOMIC_STRATEGIES)('the audit of a trimmed stream — %s', (strategy) => {
  it('says it cannot prove the balances (unprovable, with the reason), never consistent', async () => {
    const f = await fixture(strategy, 5);
    try {
      await f.ledger.open({ id: 'acct', balance: 0 });
      for (let i = 0; i < 130; i++) await f.ledger.deposit({ id: 'acct', amount: 1 });
      const info = await f.log.info('ledger');
      expect(info.added).toBe(131);
      expect(info.length).toBeLessThan(131); // XADD MAXLEN ~ trimmed whole nodes (memory: in blocks)
      const report = await f.audit.audit(f.name);
      expect(report).toMatchObject({ verdict: 'unprovable', reason: expect.stringMatching(/trimmed/), stream: { added: 131, length: info.length } });
    } finally {
      await f.close();
    }
  });
});

describe('npm run audit (redis-atomic audit)', () => {
  it('exit 0 with the verdict on a sound ledger (in process); exit 1 with the first mismatch on a corrupted one (the CLI process)', async () => {
    const f = await fixture('functions');
    try {
      await f.ledger.open({ id: 'alice', balance: 100 });
      await f.ledger.open({ id: 'bob' });
      await f.ledger.transfer({ from: 'alice', to: 'bob', amount: 40 });
      const env = { REDIS_URL: server.url, ATOMIC_STRATEGY: 'functions' };
      const printed: string[] = [];
      const log = jest.spyOn(console, 'log').mockImplementation((line: string) => void printed.push(line));
      const error = jest.spyOn(console, 'error').mockImplementation((line: string) => void printed.push(line));
      try {
        expect(await auditCommand(['--ledger', f.name], env)).toBe(AUDIT_EXIT.CONSISTENT);
        expect(await auditCommand(['--bogus'], env)).toBe(AUDIT_EXIT.USAGE);
      } finally {
        log.mockRestore();
        error.mockRestore();
      }
      expect(printed.join('\n')).toContain('redis-atomic audit: unexpected argument "--bogus"');
      expect(printed.join('\n')).toContain(`ledger ${f.name}: consistent — 2 accounts, 3 events replayed (stream: 3 kept, 3 ever added), 0 mismatching`);
      expect(printed.join('\n')).toContain('Σ stored balances 100 · Σ opens + deposits − withdrawals 100 (100 + 0 − 0)');
      await f.corrupt('alice', -1);
      const bad = await runProcess(process.execPath, ['-r', 'ts-node/register/transpile-only', '-r', 'tsconfig-paths/register', 'src/cli.ts', 'audit',
        `--ledger=${f.name}`, '--json'], env);
      expect({ code: bad.code, stderr: bad.stderr }).toEqual({ code: 1, stderr: '' });
      expect(JSON.parse(bad.stdout)).toMatchObject({ verdict: 'mismatch', firstMismatch: { account: 'alice', field: 'balance', stored: 59, expected: 60 } });
    } finally {
      await f.close();
    }
  }, 120_000);
});
