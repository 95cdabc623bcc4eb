/**
 * Spread ledgers (one ledger over many shards) and their cross-shard transfers — memory (shards simulated in
 * process) and functions on one private redis-server (shards are hash tags; a cluster in test/cluster/cross-shard);
 * the transactions strategy refuses cross-shard transfers. Same API and semantics as a one-shard ledger.
 */
import { AtomicError, isReplayed } from '@kernel/core';
import { RedisServer } from '@kernel/testing';
import { uniqueIds } from './support/accounts-fixture';
import { Coordinator } from '../src/accounts/spread/coordinator';
import type { EscrowStore } from '../src/accounts/spread/escrow.port';
import { caseName, CRASH_CASES, MakeSpread, runCrashCase, runDoubleSpend } from './support/cross-shard-cases';
import { Crash, idsOnShards, openHolds, spreadFixture, SpreadFixture, sweepUntil, txidOf } from './support/spread';

let server: RedisServer;
beforeAll(async () => (server = await RedisServer.start()), 60_000);
afterAll(() => server?.stop());
jest.setTimeout(60_000);

const makers: Record<'memory' | 'functions', MakeSpread> = {
  memory: (ledger, options) => spreadFixture('memory', undefined, ledger, options),
  functions: (ledger, options) => spreadFixture('functions', server, ledger, options),
};

describe.each(['memory', 'functions'] as const)('spread ledger — %s', (strategy) => {
  let f: SpreadFixture;
  let steps: string[];
  beforeAll(async () => {
    steps = [];
    f = await makers[strategy](uniqueIds('sp')[0], { spread: 4, hooks: { after: (step) => void steps.push(step) } });
  });
  afterAll(() => f.close());

  async function accounts(balances: number[], floors: number[] = []): Promise<string[]> {
    const ids = idsOnShards(f.parts, balances.length, uniqueIds('a')[0]);
    for (const [i, id] of ids.entries()) await f.ledger.open({ id, balance: balances[i], minBalance: floors[i] ?? 0 });
    return ids;
  }

  it('moves money across shards: receipt, balances, one history entry per account, nothing pending', async () => {
    const [a, b] = await accounts([1000, 0]);
    const receipt = await f.ledger.transfer({ from: a, to: b, amount: 300 });
    expect(receipt).toMatchObject({ from: { id: a, balance: 700 }, to: { id: b, balance: 300 }, amount: 300 });
    expect(await f.ledger.get(a)).toMatchObject({ balance: 700, pendingDebits: 0, pendingCredits: 0, available: 700 });
    expect(await f.ledger.get(b)).toMatchObject({ balance: 300, pendingDebits: 0, pendingCredits: 0 });
    const [ha, hb] = [(await f.ledger.history(a)).entries, (await f.ledger.history(b)).entries];
    expect(ha[0]).toMatchObject({ transferId: receipt.id, type: 'transfer_out', amount: -300, counterparty: b, balance: 700 });
    expect(hb[0]).toMatchObject({ transferId: receipt.id, type: 'transfer_in', amount: 300, counterparty: a, balance: 300 });
    expect(await openHolds(f.parts)).toEqual([]);
    expect(await f.parts.store!.audit(f.parts.routing.shardOf(a), [a])).toEqual([]);
  });

  it('keeps the fast path: two accounts of one shard make one single-shard transfer (no coordinator step)', async () => {
    const [a] = await accounts([100]);
    let b = '';
    for (let i = 0; !b; i++) if (f.parts.routing.shardOf(`${a}-s${i}`) === f.parts.routing.shardOf(a)) b = `${a}-s${i}`;
    await f.ledger.open({ id: b });
    steps.length = 0;
    await f.ledger.transfer({ from: a, to: b, amount: 10 });
    await f.ledger.transferBatch([{ from: a, to: b, amount: 1 }, { from: b, to: a, amount: 2 }]);
    expect(steps).toEqual([]);
    expect((await f.ledger.get(b)).balance).toBe(9);
    const [c] = idsOnShards(f.parts, 1, `${a}-other`, ([s]) => s !== f.parts.routing.shardOf(a));
    await f.ledger.open({ id: c });
    await f.ledger.transfer({ from: a, to: c, amount: 1 });
    expect(steps).toEqual(expect.arrayContaining(['begin', 'hold', 'decide', 'post', 'finish']));
  });

  it('refuses what the floor forbids (own floor or the request minBalance) and a missing account, writing nothing', async () => {
    const [a, b] = await accounts([1000, 0], [-100]);
    const tooMuch = await f.ledger.transfer({ from: a, to: b, amount: 1101 }).catch((e) => e);
    expect(tooMuch).toMatchObject({ code: 'INSUFFICIENT_FUNDS', details: { account: a, balance: 1000, available: 1000, floor: -100 } });
    expect(tooMuch.details.index).toBeUndefined();
    const floor = await f.ledger.transfer({ from: a, to: b, amount: 900, minBalance: 200 }).catch((e) => e);
    expect(floor).toMatchObject({ code: 'INSUFFICIENT_FUNDS', details: { floor: 200 } });
    const [ghost] = idsOnShards(f.parts, 1, uniqueIds('ghost')[0], ([s]) => s !== f.parts.routing.shardOf(a));
    expect(await f.ledger.transfer({ from: a, to: ghost, amount: 1 }).catch((e) => e)).toMatchObject({ code: 'ACCOUNT_NOT_FOUND',
      details: { account: ghost } });
    expect(await f.ledger.transfer({ from: ghost, to: a, amount: 1 }).catch((e) => e)).toMatchObject({ code: 'ACCOUNT_NOT_FOUND',
      details: { account: ghost } });
    await f.ledger.transfer({ from: a, to: b, amount: 1100 }); // exactly down to the floor
    expect(await f.ledger.get(a)).toMatchObject({ balance: -100, pendingDebits: 0 });
    expect((await f.ledger.get(b)).pendingCredits).toBe(0);
    expect(await openHolds(f.parts)).toEqual([]);
  });

  it('replays a keyed transfer (success and refusal) and refuses the key with another request', async () => {
    const [a, b] = await accounts([100, 0]);
    const [key, refusedKey] = uniqueIds('k', 'r');
    const first = await f.ledger.transfer({ from: a, to: b, amount: 30 }, { idempotencyKey: key });
    const again = await f.ledger.transfer({ from: a, to: b, amount: 30 }, { idempotencyKey: key });
    expect(again).toEqual(first);
    expect(isReplayed(again)).toBe(true);
    expect(isReplayed(first)).toBe(false);
    expect((await f.ledger.get(a)).balance).toBe(70);
    expect(await f.ledger.transfer({ from: a, to: b, amount: 31 }, { idempotencyKey: key }).catch((e) => e))
      .toMatchObject({ code: 'IDEMPOTENCY_KEY_MISMATCH' });
    const refused = await f.ledger.transfer({ from: a, to: b, amount: 500 }, { idempotencyKey: refusedKey }).catch((e) => e);
    expect(refused).toMatchObject({ code: 'INSUFFICIENT_FUNDS', replayed: false });
    await f.ledger.deposit({ id: a, amount: 1000 });
    // The stored refusal, not a fresh decision (the funds are there now).
    expect(await f.ledger.transfer({ from: a, to: b, amount: 500 }, { idempotencyKey: refusedKey }).catch((e) => e))
      .toMatchObject({ code: 'INSUFFICIENT_FUNDS', replayed: true });
    expect((await f.ledger.get(a)).balance).toBe(1070);
  });

  it('runs batches across shards all or nothing, in order (a later item spends what an earlier one credited)', async () => {
    const [x, y, z] = await accounts([100, 0, 0]);
    const receipts = await f.ledger.transferBatch([{ from: x, to: y, amount: 100 }, { from: y, to: z, amount: 70 }, { from: z, to: x, amount: 5 }]);
    expect(receipts.map((r) => [r.from.balance, r.to.balance])).toEqual([[0, 100], [30, 70], [65, 5]]);
    expect([(await f.ledger.get(x)).balance, (await f.ledger.get(y)).balance, (await f.ledger.get(z)).balance]).toEqual([5, 30, 65]);
    const failed = await f.ledger.transferBatch([{ from: x, to: y, amount: 5 }, { from: y, to: z, amount: 36 }]).catch((e) => e);
    expect(failed).toMatchObject({ code: 'INSUFFICIENT_FUNDS', details: { index: 1, account: y } });
    const missing = uniqueIds('nobody')[0];
    expect(await f.ledger.transferBatch([{ from: x, to: y, amount: 1 }, { from: y, to: missing, amount: 1 }]).catch((e) => e))
      .toMatchObject({ code: 'ACCOUNT_NOT_FOUND', details: { index: 1, account: missing } });
    expect([(await f.ledger.get(x)).balance, (await f.ledger.get(y)).balance, (await f.ledger.get(z)).balance]).toEqual([5, 30, 65]);
    for (const id of [x, y, z]) expect(await f.ledger.get(id)).toMatchObject({ pendingDebits: 0, pendingCredits: 0 });
    expect(await openHolds(f.parts)).toEqual([]);
  });

  it('offers no pending (two-phase) transfers on a spread ledger', async () => {
    const [a, b] = await accounts([100, 0]);
    expect(await f.ledger.transfer({ from: a, to: b, amount: 1, pending: true, timeoutSeconds: 5 }).catch((e) => e))
      .toMatchObject({ code: 'CROSS_SHARD_UNSUPPORTED' });
  });

  it('audit catches pending balances that do not match the holds (control: a changed dp)', async () => {
    if (strategy !== 'functions') return;
    const [a] = await accounts([100]);
    const shard = f.parts.routing.shardOf(a);
    expect(await f.parts.store!.audit(shard, [a])).toEqual([]);
    await (f.client as import('ioredis').default).hset(`ra:{${f.parts.routing.tags[shard]}}:acct:${a}`, 'dp', 7);
    expect(await f.parts.store!.audit(shard, [a])).toEqual([`${a}: pending debits 7 but holds 0`]);
  });

  it('double spend across shards: balance 100, two concurrent transfers of 100 → exactly one commits', () =>
    runDoubleSpend(makers[strategy], 10));

  it.each([['hold', 2, false], ['decide', 1, true]] as const)(
    'repair scan: a record lost after %s #%d (a failover) — its holds are voided, or committed by evidence', async (step, nth, committed) => {
      let armed = true;
      let seen = 0;
      const g = await makers[strategy](uniqueIds('rep')[0], { spread: 4, timeoutMs: 300, graceMs: 200, hooks: { after: (s) => {
        if (armed && s === step && ++seen === nth) {
          armed = false;
          throw new Crash('killed');
        }
      } } });
      try {
        const [a, b] = idsOnShards(g.parts, 2, uniqueIds('r')[0]);
        await g.ledger.open({ id: a, balance: 100 });
        await g.ledger.open({ id: b });
        const key = uniqueIds('k')[0];
        const cmd = { from: a, to: b, amount: 30 };
        expect(await g.ledger.transfer(cmd, { idempotencyKey: key }).catch((e) => e)).toBeInstanceOf(Crash);
        const txid = txidOf(g.parts.routing.ledger, key, [cmd]);
        const bucket = g.parts.routing.bucketOf(txid);
        // Committed: one participant posted (its post replicated, the record's not) — the evidence.
        if (committed) expect(await g.parts.store!.post(g.parts.routing.shardOf(a), txid)).toMatchObject({ kind: 'POSTED' });
        // The failover that lost the record: gone from its bucket (and from the sweeper's index).
        if (strategy === 'memory') {
          const state = (g.parts.store as unknown as { state: { txs: Map<string, unknown>; due: Map<string, number> }[] }).state[bucket];
          state.txs.delete(txid);
          state.due.delete(txid);
        } else {
          const tag = g.parts.routing.tags[bucket];
          await (g.client as import('ioredis').default).del(`ra:{${tag}}:xtx:${txid}`);
          await (g.client as import('ioredis').default).zrem(`ra:{${tag}}:xtx-due:all`, txid);
        }
        expect(await g.parts.store!.tx(bucket, txid)).toBeNull();
        let repaired: string[] = [];
        for (let i = 0; i < 100 && !repaired.includes(txid); i++) {
          await new Promise((resolve) => setTimeout(resolve, 100));
          repaired = await g.parts.sweeper!.repair(Date.now(), (t) => g.parts.routing.bucketOf(t));
        }
        expect(repaired).toContain(txid);
        await sweepUntil(g.parts, async () => (await g.parts.store!.tx(bucket, txid))?.finished === true);
        expect((await g.parts.store!.tx(bucket, txid))!.state).toBe(committed ? 'COMMITTED' : 'ABORTED');
        expect(await openHolds(g.parts)).toEqual([]);
        const [ga, gb] = [await g.ledger.get(a), await g.ledger.get(b)];
        expect([ga.balance, gb.balance]).toEqual(committed ? [70, 30] : [100, 0]);
        expect([ga.pendingDebits, gb.pendingCredits]).toEqual([0, 0]);
      } finally {
        await g.close();
      }
    });

  describe('crash matrix: the coordinator killed after every step, then the sweeper or a retry', () => {
    it.each(CRASH_CASES.map((c) => [caseName(c), c] as const))('%s', (_, c) => runCrashCase(makers[strategy], c));
  });
});

describe('the double-spend checker bites', () => {
  it('a hold that checks but does not reserve (a broken double) lets both transfers of 100 commit: the checker fails', async () => {
    // Memory shards, the real coordinator, over a store whose hold forgets its reservation in the same synchronous step
    // (and restores it just before the post or void, so the pending balances stay consistent): the classic lost escrow.
    const broken: MakeSpread = async (ledger, options) => {
      const f = await spreadFixture('memory', undefined, ledger, options);
      const store = f.parts.store!;
      type Hold = { accounts: { id: string; x: number }[] };
      const state = (store as unknown as { state: { holds: Map<string, Hold>; access: { account(id: string): { pendingDebits: number } } }[] }).state;
      const shift = (shard: number, txid: string, sign: number) => {
        for (const a of state[shard].holds.get(txid)?.accounts ?? []) state[shard].access.account(a.id).pendingDebits += sign * a.x;
      };
      const lying = Object.create(store) as EscrowStore;
      lying.hold = (shard, txid, ...rest) => {
        const vote = store.hold(shard, txid, ...rest); // its body runs now, synchronously
        shift(shard, txid, -1);
        return vote;
      };
      lying.post = (shard, txid) => (shift(shard, txid, 1), store.post(shard, txid));
      lying.void = (shard, txid) => (shift(shard, txid, 1), store.void(shard, txid));
      (f.parts.ledger as unknown as { coordinator: Coordinator }).coordinator = new Coordinator(lying, f.parts.routing, { timeoutMs: 20_000, graceMs: 2000 });
      return f;
    };
    await expect(runDoubleSpend(broken, 3)).rejects.toThrow(/toHaveLength[\s\S]*Received length: 2/); // both committed
  });
});

describe('spread ledger — transactions', () => {
  it('keeps single-shard transfers and refuses cross-shard ones with CROSS_SHARD_UNSUPPORTED, writing nothing', async () => {
    const f = await spreadFixture('transactions', server, uniqueIds('tx')[0], { spread: 4 });
    try {
      const [a, b] = idsOnShards(f.parts, 2, uniqueIds('t')[0]);
      await f.ledger.open({ id: a, balance: 100 });
      await f.ledger.open({ id: b });
      const err = await f.ledger.transfer({ from: a, to: b, amount: 10 }).catch((e) => e);
      expect(err).toBeInstanceOf(AtomicError);
      expect(err).toMatchObject({ code: 'CROSS_SHARD_UNSUPPORTED', details: { strategy: 'transactions' } });
      expect((await f.ledger.get(a)).balance).toBe(100);
      expect(await f.ledger.transferBatch([{ from: a, to: b, amount: 1 }]).catch((e) => e)).toMatchObject({ code: 'CROSS_SHARD_UNSUPPORTED' });
    } finally {
      await f.close();
    }
  });
});
