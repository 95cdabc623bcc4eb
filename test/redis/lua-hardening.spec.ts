/**
 * HARDENED AGAINST DIRECT CALLS: a user with FCALL rights (another service, an operator with redis-cli) can call
 * every function of lua/*.lua with any KEYS and ARGV. A property-based test (fast-check) calls each function
 * directly — a valid base call per function, then 1 to 3 mutations of its ARGV (bad integers, bad ids, empty,
 * missing, extra values, malformed JSON) and KEYS (missing, extra, repeated, swapped, untagged, another tag,
 * another role) and of the idempotency pair — and compares a full keyspace dump before and after:
 *   every call either succeeds, or fails with a typed `CODE {json}` error and changes nothing.
 * No raw Lua error (`ERR …`, `WRONGTYPE …`) may come back, and a malformed call is answered INVALID_ARGUMENT.
 */
import fc from 'fast-check';
import type Redis from 'ioredis';
import { FunctionLibrary } from '@kernel/redis';
import { keyspaceSnapshot, RedisServer } from '@kernel/testing';

const RUNS = Number(process.env.LUA_HARDENING_RUNS ?? 100);
const L = (k: string) => `ra:{L}:${k}`;
const S = (k: string) => `ra:{S}:${k}`;
const N = (k: string) => `ra:{N}:${k}`;
const E = (k: string) => `ra:{E}:${k}`;
const FAR = '9000000000000';
const E_POST = { keys: [E('xholds'), E('xdone:h1'), E('events'), E('acct:a'), E('hist:a')], args: ['h1', '60', '10', '1000'] };
const ITEMS = '[{"productId":"p1","quantity":2,"unitPrice":3}]';
const RESERVED_ITEMS = '[{"productId":"p1","quantity":2,"unitPrice":3},{"productId":"p2","quantity":2,"unitPrice":3}]';

interface Base {
  fn: string;
  keys: string[];
  args: string[];
  /** Write functions take the idempotency pair first, and a record key last when keyed. */
  write: boolean;
  /** The record key's tag when keyed. */
  record?: string;
}

const BASES: Base[] = [
  { fn: 'accounts_version', keys: [], args: [], write: false },
  { fn: 'accounts_open', keys: [L('acct:new'), L('events')], args: ['100', '0', 'new', '1000'], write: true, record: L('idem:1') },
  { fn: 'accounts_get', keys: [L('acct:a')], args: [], write: false },
  { fn: 'accounts_history', keys: [L('acct:a'), L('hist:a')], args: ['', '10'], write: false },
  { fn: 'accounts_deposit', keys: [L('acct:a'), L('hist:a'), L('events')], args: ['5', 'op1', '10', 'a', '1000'], write: true, record: L('idem:1') },
  { fn: 'accounts_withdraw', keys: [L('acct:a'), L('hist:a'), L('events')], args: ['5', 'op1', '10', 'a', '1000'], write: true, record: L('idem:1') },
  { fn: 'accounts_transfer', keys: [L('acct:a'), L('acct:b'), L('hist:a'), L('hist:b'), L('events')],
    args: ['5', '', 't1', '10', 'a', 'b', '1000'], write: true, record: L('idem:1') },
  { fn: 'accounts_transfer_batch', keys: [L('acct:a'), L('acct:b'), L('hist:a'), L('hist:b'), L('events'), L('pend-deadlines:all'),
    L('pend:t3')], args: ['10', '2', '1000', 'a', 'b', '1', '2', '5', '', 't1', '', '2', '1', '3', '-5', 't2', '', '1', '2', '4', '', 't3', '60'],
  write: true, record: L('idem:1') },
  { fn: 'accounts_transfer_pending', keys: [L('acct:a'), L('acct:b'), L('hist:a'), L('hist:b'), L('pend:t9'), L('pend-deadlines:all'), L('events')],
    args: ['5', '', 't9', '10', 'a', 'b', '1000', '60'], write: true, record: L('idem:1') },
  ...['accounts_post', 'accounts_void'].map((fn) => ({ fn, keys: [L('pend:p1'), L('pend-deadlines:all'), L('events'), L('acct:a'), L('acct:b'),
    L('hist:a'), L('hist:b')], args: ['p1', '', '10', '1000'], write: true, record: L('idem:1') })),
  { fn: 'accounts_expire', keys: [L('pend:p2'), L('pend-deadlines:all'), L('events'), L('acct:a'), L('acct:b'), L('hist:a'), L('hist:b')],
    args: ['p2', '', '10', '1000'], write: true, record: L('idem:1') },
  { fn: 'accounts_get_transfer', keys: [L('pend:p1')], args: [], write: false },
  { fn: 'accounts_due', keys: [L('pend-deadlines:all')], args: ['10'], write: false },
  { fn: 'inventory_version', keys: [], args: [], write: false },
  { fn: 'inventory_set_stock', keys: [S('inventory:stock'), S('events')], args: ['p1', '10', '1000'], write: true, record: S('shop-idem:1') },
  { fn: 'inventory_restock', keys: [S('inventory:stock'), S('events')], args: ['p1', '3', '1000'], write: true, record: S('shop-idem:1') },
  { fn: 'inventory_get', keys: [S('inventory:stock')], args: ['p1'], write: false },
  { fn: 'inventory_low_stock', keys: [S('inventory:stock')], args: ['100', '10'], write: false },
  { fn: 'inventory_reserve', keys: [S('inventory:stock'), S('inventory:held'), S('inventory:deadlines'), S('reservation:new'), S('events')],
    args: ['p1', '2', '60', 'new', '1000'], write: true, record: S('shop-idem:1') },
  { fn: 'inventory_release', keys: [S('inventory:stock'), S('inventory:held'), S('inventory:deadlines'), S('reservation:r1'), S('events')],
    args: ['p1', 'r1', '1000'], write: true, record: S('shop-idem:1') },
  { fn: 'inventory_reservation', keys: [S('reservation:r1')], args: ['p1', 'r1'], write: false },
  { fn: 'inventory_availability', keys: [S('inventory:stock'), S('inventory:held')], args: ['p1'], write: false },
  { fn: 'inventory_due', keys: [S('inventory:deadlines')], args: ['10'], write: false },
  { fn: 'inventory_expire_due', keys: [S('inventory:stock'), S('inventory:held'), S('inventory:deadlines'), S('events'), S('reservation:r2'),
    S('reservation:r1')], args: ['1000', 'r2', 'r1'], write: true, record: S('shop-idem:1') },
  { fn: 'orders_version', keys: [], args: [], write: false },
  { fn: 'orders_place', keys: [S('inventory:stock'), S('order:o2'), S('user-orders:u1'), S('user-stats:u1'), S('queue:pending'), S('events')],
    args: ['o2', 'u1', '6', ITEMS, '1000', 'p1', '2'], write: true, record: S('shop-idem:1') },
  { fn: 'orders_place_reserved', keys: [S('inventory:stock'), S('order:o2'), S('user-orders:u1'), S('user-stats:u1'), S('queue:pending'),
    S('inventory:held'), S('inventory:deadlines'), S('reservation:r1'), S('events')],
    args: ['o2', 'u1', '12', RESERVED_ITEMS, '1000', 'p1', '2', 'r1', 'p2', '2', '-'], write: true, record: S('shop-idem:1') },
  { fn: 'orders_cancel', keys: [S('inventory:stock'), S('order:o1'), S('user-stats:u1'), S('queue:pending'), S('events')],
    args: ['o1', 'u1', '1000'], write: true, record: S('shop-idem:1') },
  { fn: 'orders_claim', keys: [S('queue:pending'), S('queue:processing'), S('order:o1'), S('events')], args: ['o1', '1000'], write: true,
    record: S('shop-idem:1') },
  { fn: 'orders_complete', keys: [S('order:o3'), S('queue:processing'), S('events')], args: ['o3', '1000'], write: true, record: S('shop-idem:1') },
  { fn: 'orders_requeue', keys: [S('order:o3'), S('queue:processing'), S('queue:pending'), S('events')], args: ['o3', '1000'], write: true, record: S('shop-idem:1') },
  { fn: 'orders_get', keys: [S('order:o1'), S('order:o3')], args: [], write: false },
  { fn: 'orders_peek', keys: [S('queue:pending')], args: [], write: false },
  { fn: 'orders_user_orders', keys: [S('user-orders:u1')], args: [], write: false },
  { fn: 'orders_user_stats', keys: [S('user-stats:u1')], args: [], write: false },
  { fn: 'orders_queue', keys: [S('queue:pending'), S('queue:processing')], args: [], write: false },
  { fn: 'kv_version', keys: [], args: [], write: false },
  { fn: 'kv_update_if_conditions_met', keys: [N('kv:x'), N('kv:h'), N('events')],
    args: [JSON.stringify([{ k: 1, key: 'x', op: 'gte', value: '1' }]),
      JSON.stringify([{ k: 1, key: 'x', op: 'incrby', by: '2' }, { k: 2, key: 'h', op: 'hset', field: 'f', value: 'v' }]),
      '{"updates":[]}', '1000'], write: true, record: N('kv-idem:1') },
  { fn: 'kv_get', keys: [N('kv:x')], args: ['x'], write: false },
  // lua/escrow.lua: idempotent per txid, no idempotency wrapper (write: false here means "no record pair").
  { fn: 'escrow_version', keys: [], args: [], write: false },
  { fn: 'escrow_begin', keys: [E('xtx:n1'), E('xtx-due:all')], args: ['n1', 'fp1', '0,1', '1000', '100'], write: false },
  { fn: 'escrow_hold', keys: [E('xholds'), E('xdone:n2'), E('acct:a'), E('acct:b')],
    args: ['n2', FAR, '0,1', '60', '2', 'a', 'b', '1', '0', 'i0', '-5', 'b', '', '2', '0', 'i0', '5', 'a', ''], write: false },
  { fn: 'escrow_decide', keys: [E('xtx:t1'), E('xtx-due:all')], args: ['t1', 'COMMITTED', '', 'coordinator', '100', '60', ''], write: false },
  { fn: 'escrow_post', ...E_POST, write: false },
  { fn: 'escrow_void', ...E_POST, write: false },
  { fn: 'escrow_finish', keys: [E('xtx:t2'), E('xtx-due:all')], args: ['t2', '1,2,3', '60'], write: false },
  { fn: 'escrow_tx', keys: [E('xtx:t1')], args: [], write: false },
  { fn: 'escrow_due', keys: [E('xtx-due:all')], args: ['10'], write: false },
  { fn: 'escrow_holds', keys: [E('xholds')], args: ['0', '10'], write: false },
  { fn: 'escrow_audit', keys: [E('xholds'), E('acct:a'), E('acct:b')], args: ['a', 'b'], write: false },
];

/** One keyspace every base call succeeds on: accounts, a shop with orders, a kv namespace, event logs, a record. */
async function seed(client: Redis): Promise<void> {
  await client.flushall();
  const p = client.pipeline();
  p.hset(L('acct:a'), 'b', 100, 'm', 0, 'dp', 27).hset(L('acct:b'), 'b', 50, 'm', -10, 'cp', 27).rpush(L('hist:a'), 'x|d|1|100||100');
  // Two pending transfers a → b: p1 open until far in the future, p2 past its deadline (not yet swept).
  p.hset(L('pend:p1'), 'f', 'a', 't', 'b', 'a', 20, 's', 'pending', 'c', 1, 'e', 9_000_000_000_000);
  p.hset(L('pend:p2'), 'f', 'a', 't', 'b', 'a', 7, 's', 'pending', 'c', 1, 'e', 2);
  p.zadd(L('pend-deadlines:all'), 9_000_000_000_000, 'p1', 2, 'p2');
  p.xadd(L('events'), '*', 'type', 'seed', 'data', '{}').set(L('idem:old'), 'f0|o|1,2');
  p.zadd(S('inventory:stock'), 10, 'p1', 5, 'p2').xadd(S('events'), '*', 'type', 'seed', 'data', '{}');
  for (const [id, status] of [['o1', 'pending'], ['o3', 'processing']]) {
    p.hset(S(`order:${id}`), 'user', 'u1', 'status', status, 'total', 6, 'created', 1, 'items', ITEMS);
  }
  p.sadd(S('user-orders:u1'), 'o1', 'o3').hset(S('user-stats:u1'), 'totalOrders', 2, 'totalSpent', 12);
  p.lpush(S('queue:pending'), 'o1').lpush(S('queue:processing'), 'o3');
  // Reservations: r1 held (p1 × 2, far from expiry), r2 held but past its expiry (p2 × 1), r3 released.
  const far = Date.now() + 3_600_000;
  p.hset(S('reservation:r1'), 'product', 'p1', 'quantity', 2, 'status', 'held', 'created', 1, 'expires', far, 'order', '-');
  p.hset(S('reservation:r2'), 'product', 'p2', 'quantity', 1, 'status', 'held', 'created', 1, 'expires', 2, 'order', '-');
  p.hset(S('reservation:r3'), 'product', 'p1', 'quantity', 1, 'status', 'released', 'created', 1, 'expires', 2, 'order', '-');
  p.hset(S('inventory:held'), 'p1', 2, 'p2', 1).zadd(S('inventory:deadlines'), far, 'r1', 2, 'r2');
  p.set(N('kv:x'), '5').hset(N('kv:h'), 'f', '1').xadd(N('events'), '*', 'type', 'seed', 'data', '{}');
  // Escrow (a spread ledger's shard): a hold h1 of 10 on a, a PREPARING t1, a COMMITTED t2, a voided d1.
  p.hset(E('acct:a'), 'b', 100, 'm', 0, 'dp', 10).hset(E('acct:b'), 'b', 5, 'm', 0).rpush(E('hist:a'), 'x|d|1|100||100');
  p.hset(E('xholds'), 'h1', `${FAR}|0,1|a:10:0:-10|1:0:i0:-10:b`).set(E('xdone:d1'), 'V').xadd(E('events'), '*', 'type', 'seed', 'data', '{}');
  p.hset(E('xtx:t1'), 's', 'PREPARING', 'f', 'fp1', 'p', '0,1', 'c', 1, 'e', FAR).hset(E('xtx:t2'), 's', 'COMMITTED', 'f', 'fp2', 'p', '0', 'c', 1, 'e', FAR);
  p.zadd(E('xtx-due:all'), FAR, 't1', FAR, 't2').set(E('decoy:string'), 'x');
  p.set(L('decoy:string'), 'x').sadd(S('decoy:set'), 'x').zadd(N('decoy:zset'), 1, 'x');
  await p.exec();
}

const BAD_VALUES = ['', ' ', '0', '-0', '-1', '1.5', '1e3', '007', ' 5', '0x10', '+1', '9007199254740992', '-9007199254740992',
  '99999999999999999999', 'abc', 'a|b', 'a,b', '{x}', 'a b', 'é', 'x'.repeat(65), 'x'.repeat(5000), '[]', '{}', '[{}]', 'null',
  '[{"k":1,"key":"x","op":"nope"}]', '[{"k":9,"key":"x","op":"del"}]', '[{"k":1,"key":"x","op":"set","value":1}]',
  '[{"k":1,"key":"x","op":"exists","field":null}]', '[{"productId":"p1","quantity":2,"unitPrice":3.5}]', '{"a":', 'f1', '60'];
const KEY_POOL = ['untagged', 'ra:{}:empty', 'ra:{other}:k', L('acct:b'), L('hist:b'), L('events'), L('decoy:string'), L('new'),
  L('pend:p1'), L('pend:p2'), L('pend-deadlines:all'), L('acct:a'),
  L('idem:old'), S('inventory:stock'), S('inventory:held'), S('inventory:deadlines'), S('reservation:r1'), S('reservation:r3'),
  S('decoy:set'), S('order:o1'), S('queue:pending'), S('events'), N('kv:h'), N('decoy:zset'),
  N('events'), N('kv:new'), E('xholds'), E('xdone:d1'), E('xtx:t1'), E('xtx:t2'), E('xtx-due:all'), E('acct:a'), E('acct:b'), E('hist:a'),
  E('events'), E('decoy:string')];

type Mutation =
  | { kind: 'argv-replace'; at: number; value: string }
  | { kind: 'argv-drop'; at: number }
  | { kind: 'argv-extra'; value: string }
  | { kind: 'keys-replace'; at: number; key: string }
  | { kind: 'keys-drop'; at: number }
  | { kind: 'keys-extra'; key: string }
  | { kind: 'keys-repeat'; at: number; from: number }
  | { kind: 'keys-swap'; at: number; from: number };

const value = fc.oneof(fc.constantFrom(...BAD_VALUES), fc.string({ maxLength: 12 }), fc.integer().map(String));
const index = fc.nat(40);
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('argv-replace' as const), at: index, value }),
  fc.record({ kind: fc.constant('argv-drop' as const), at: index }),
  fc.record({ kind: fc.constant('argv-extra' as const), value }),
  fc.record({ kind: fc.constant('keys-replace' as const), at: index, key: fc.constantFrom(...KEY_POOL) }),
  fc.record({ kind: fc.constant('keys-drop' as const), at: index }),
  fc.record({ kind: fc.constant('keys-extra' as const), key: fc.constantFrom(...KEY_POOL) }),
  fc.record({ kind: fc.constant('keys-repeat' as const), at: index, from: index }),
  fc.record({ kind: fc.constant('keys-swap' as const), at: index, from: index }),
);

function mutate(keys: string[], args: string[], m: Mutation): void {
  const at = (list: unknown[], i: number) => (list.length ? i % list.length : -1);
  switch (m.kind) {
    case 'argv-replace': if (args.length) args[at(args, m.at)] = m.value; break;
    case 'argv-drop': if (args.length) args.splice(at(args, m.at), 1); break;
    case 'argv-extra': args.push(m.value); break;
    case 'keys-replace': if (keys.length) keys[at(keys, m.at)] = m.key; break;
    case 'keys-drop': if (keys.length) keys.splice(at(keys, m.at), 1); break;
    case 'keys-extra': keys.push(m.key); break;
    case 'keys-repeat': if (keys.length) keys[at(keys, m.at)] = keys[at(keys, m.from)]; break;
    case 'keys-swap': if (keys.length) [keys[at(keys, m.at)], keys[at(keys, m.from)]] = [keys[at(keys, m.from)], keys[at(keys, m.at)]]; break;
  }
}

/** The call as the adapters make it: write functions get ('', '0') or (fingerprint, TTL) + the record key last. */
function callOf(base: Base, keyed: boolean): { keys: string[]; args: string[] } {
  if (!base.write) return { keys: [...base.keys], args: [...base.args] };
  return keyed ? { keys: [...base.keys, base.record!], args: ['f1', '60', ...base.args] } : { keys: [...base.keys], args: ['', '0', ...base.args] };
}

let server: RedisServer;
let client: Redis;
const TYPED = /^([A-Z][A-Z_]+) (\{.*\})/s;

beforeAll(async () => {
  server = await RedisServer.start();
  client = server.client();
  for (const name of ['accounts', 'inventory', 'orders', 'kv', 'escrow']) await FunctionLibrary.fromFile(client, name).load();
});

afterAll(async () => {
  await server?.stop();
});

/** FCALL: { ok } or { code, details } (a typed error) — a raw error fails the test. */
async function fcall(fn: string, keys: string[], args: string[]): Promise<{ ok: unknown } | { code: string; details: unknown }> {
  try {
    return { ok: await client.call('FCALL', fn, keys.length, ...keys, ...args) };
  } catch (err) {
    const message = (err as Error).message;
    const typed = TYPED.exec(message);
    if (!typed) throw new Error(`${fn} answered a raw error: ${message}\n  KEYS ${JSON.stringify(keys)}\n  ARGV ${JSON.stringify(args)}`);
    return { code: typed[1], details: JSON.parse(typed[2].replace(/\} script: .*$/s, '}')) };
  }
}

describe('every Lua function, called directly', () => {
  it.each(BASES.map((b) => [b.fn, b] as const))('%s: the base call succeeds, with and without a key (control)', async (_, base) => {
    for (const keyed of base.write ? [false, true] : [false]) {
      await seed(client);
      const { keys, args } = callOf(base, keyed);
      expect(await fcall(base.fn, keys, args)).toEqual({ ok: expect.anything() });
    }
  });

  let cases = 0;
  let refused = 0;
  afterAll(() => {
    // eslint-disable-next-line no-console
    console.log(`lua hardening: ${cases} mutated direct calls, ${refused} answered a typed error (keyspace unchanged, or only the outcome record of a keyed business failure)`);
  });

  it.each(BASES.map((b) => [b.fn, b] as const))('%s: a mutated call succeeds or is refused with a typed error, changing nothing', async (_, base) => {
    await seed(client);
    let dirty = false;
    await fc.assert(fc.asyncProperty(fc.boolean(), fc.array(mutation, { minLength: 1, maxLength: 3 }), async (keyed, mutations) => {
      if (dirty) await seed(client);
      const { keys, args } = callOf(base, keyed && base.write);
      for (const m of mutations) mutate(keys, args, m);
      const before = await keyspaceSnapshot(client);
      const reply = await fcall(base.fn, keys, args);
      cases++;
      if ('ok' in reply) {
        dirty = true; // a mutation may leave the call valid (another amount, another existing key…): it applied
        return;
      }
      refused++;
      const after = await keyspaceSnapshot(client);
      if (after === before) return;
      // A business failure (not a refusal) of a keyed call is an outcome: its record is the one write allowed.
      const added = after.split('\n').filter((line) => !before.split('\n').includes(line));
      const removed = before.split('\n').filter((line) => !after.split('\n').includes(line));
      expect({ code: reply.code, removed, added }).toEqual({ code: expect.not.stringMatching(/^(INVALID_ARGUMENT|STORE_CORRUPTED)$/),
        removed: [], added: [`${keys[keys.length - 1]} ${JSON.stringify(['string', `${args[0]}|e|${reply.code} ${JSON.stringify(reply.details)}`])}`] });
      dirty = true;
    }), { numRuns: RUNS });
  });

  it.each([
    ['an amount of 1.5', { fn: 'accounts_deposit', at: 2, value: '1.5' }],
    ['an empty events cap', { fn: 'accounts_deposit', at: 6, value: '' }],
    ['an empty history cap', { fn: 'accounts_transfer', at: 5, value: '' }],
    ['an amount of 1e3', { fn: 'accounts_transfer', at: 2, value: '1e3' }],
    ['a stock of -1', { fn: 'inventory_set_stock', at: 3, value: '-1' }],
    ['a quantity that does not match the items', { fn: 'orders_place', at: 8, value: '3' }],
    ['a total that does not match the items', { fn: 'orders_place', at: 4, value: '7' }],
    ['a reservation ttl of 0', { fn: 'inventory_reserve', at: 4, value: '0' }],
    ['a reservation ttl past 7 days', { fn: 'inventory_reserve', at: 4, value: '604801' }],
    ['a reservation id with a separator', { fn: 'inventory_release', at: 3, value: 'r|1' }],
    ['an order without any reservation', { fn: 'orders_place_reserved', at: 9, value: '-' }],
    ['an empty reservation id in a sweep', { fn: 'inventory_expire_due', at: 3, value: '' }],
    ['an id with a separator', { fn: 'accounts_transfer', at: 4, value: 't|1' }],
    ['a TTL without a fingerprint', { fn: 'accounts_open', at: 1, value: '60' }],
    ['a timeout of 0', { fn: 'accounts_transfer_pending', at: 9, value: '0' }],
    ['a timeout past 2^32 - 1', { fn: 'accounts_transfer_pending', at: 9, value: '4294967296' }],
    ['a pending key of another transfer', { fn: 'accounts_transfer_pending', at: 4, value: 't8' }],
    ['an amount for a void', { fn: 'accounts_void', at: 3, value: '5' }],
    ['a post amount of 0', { fn: 'accounts_post', at: 3, value: '0' }],
    ['a batch timeout of 1.5', { fn: 'accounts_transfer_batch', at: 24, value: '1.5' }],
    ['a sweep limit of 1001', { fn: 'accounts_due', at: 0, value: '1001' }],
    ['an escrow leg of 0', { fn: 'escrow_hold', at: 10, value: '0' }],
    ['a floor on a credit leg', { fn: 'escrow_hold', at: 18, value: '5' }],
    ['legs out of item order', { fn: 'escrow_hold', at: 8, value: '1' }],
    ['a decision by the sweeper to commit', { fn: 'escrow_decide', at: 3, value: 'sweeper' }],
    ['a commit with a reason', { fn: 'escrow_decide', at: 2, value: 'X {}' }],
    ['participants with a gap', { fn: 'escrow_begin', at: 2, value: '0,,1' }],
    ['a done marker of another txid', { fn: 'escrow_post', at: 0, value: 'h2' }],
    ['an outcome that is not numbers', { fn: 'escrow_finish', at: 1, value: '1,a' }],
  ])('%s is INVALID_ARGUMENT, before any write', async (_, { fn, at, value: bad }) => {
    await seed(client);
    const { keys, args } = callOf(BASES.find((b) => b.fn === fn)!, false);
    args[at] = bad;
    const before = await keyspaceSnapshot(client);
    expect(await fcall(fn, keys, args)).toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(await keyspaceSnapshot(client)).toBe(before);
  });

  it.each(BASES.filter((b) => b.write).map((b) => [b.fn, b] as const))(
    '%s: missing or extra KEYS or ARGV, untagged or repeated keys are INVALID_ARGUMENT', async (_, base) => {
      await seed(client);
      const before = await keyspaceSnapshot(client);
      const variants: [string[], string[]][] = [];
      const { keys, args } = callOf(base, false);
      variants.push([keys.slice(0, -1), args], [keys, args.slice(0, -1)], [keys, [...args, '1']]);
      variants.push([keys.map((k, i) => (i === 0 ? 'untagged' : k)), args], [keys.map((k, i) => (i === keys.length - 1 ? 'ra:{other}:events' : k)), args]);
      if (base.fn !== 'kv_update_if_conditions_met') variants.push([[...keys, L('extra')], args]);
      if (base.fn !== 'orders_cancel') variants.push([keys.map((k, i) => (i === 1 ? keys[0] : k)), args]);
      for (const [k, a] of variants) expect({ k, a, reply: await fcall(base.fn, k, a) }).toMatchObject({ reply: { code: 'INVALID_ARGUMENT' } });
      expect(await keyspaceSnapshot(client)).toBe(before);
    });

  it.each(BASES.filter((b) => b.write).map((b) => [b.fn, b] as const))(
    '%s: the idempotency wrapper never overwrites a key that is not a record', async (_, base) => {
      await seed(client);
      const before = await keyspaceSnapshot(client);
      const tag = /\{[^}]*\}/.exec(base.keys[0])![0];
      const others = [`ra:${tag}:decoy`, ...base.keys];
      await client.hset(others[0], 'f', 'v'); // a hash where the record should be
      const seeded = await keyspaceSnapshot(client);
      for (const record of others) {
        const { args } = callOf(base, true);
        const reply = await fcall(base.fn, [...base.keys, record], args);
        expect(reply).toMatchObject({ code: expect.stringMatching(/^(INVALID_ARGUMENT|STORE_CORRUPTED)$/) });
      }
      expect(await keyspaceSnapshot(client)).toBe(seeded);
      expect(seeded).not.toBe(before);
    });
});
