/**
 * `npm run demo`: the problem statement's six steps (../README.md, "atomic operations"), done against the running
 * service (BASE_URL, default http://localhost:3000) and explained as they happen. Start the service first:
 *
 *   npm start                            # Redis on 127.0.0.1:6379 (functions strategy)
 *   ATOMIC_STRATEGY=memory npm start     # or without Redis
 *   npm run demo
 *
 * Every id carries this run's suffix, so the demo can run again against the same service. Each step checks what it
 * shows: exit 0 when everything behaved as described, 1 when something did not, 2 when the service is unreachable.
 */

const BASE_URL = (process.env.BASE_URL || 'http://localhost:3000').replace(/\/$/, '');
const RUN = Date.now().toString(36) + Math.random().toString(36).slice(2, 5);
const id = (name: string) => `${name}-${RUN}`;

interface Reply {
  status: number;
  body: any;
  headers: Headers;
}

class Unreachable extends Error {}

let failures = 0;

async function http(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Reply> {
  let res: Response;
  try {
    res = await fetch(BASE_URL + path, {
      method,
      headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (err) {
    throw new Unreachable(`${BASE_URL}: ${(err as Error & { cause?: Error }).cause?.message ?? (err as Error).message}`);
  }
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined, headers: res.headers };
}

const say = (line = '') => console.log(line);
const step = (n: number, title: string, why: string) => {
  say();
  say(`━━ Step ${n}: ${title}`);
  for (const line of why.split('\n')) say(`   ${line}`);
};

/** Prints one request and its answer; counts a failure when the status is not the expected one. */
async function show(method: string, path: string, body: unknown, expected: number, describe: (r: Reply) => string, headers?: Record<string, string>) {
  const r = await http(method, path, body, headers);
  const ok = r.status === expected;
  if (!ok) failures++;
  const shown = body === undefined ? '' : ` ${JSON.stringify(body)}`;
  say(`   ${method} ${path}${shown}`);
  say(`     → ${r.status}${ok ? '' : ` (expected ${expected}!)`} ${ok ? describe(r) : JSON.stringify(r.body)}`);
  return r;
}

function check(condition: boolean, line: string): void {
  if (!condition) failures++;
  say(`   ${condition ? '✓' : '✗'} ${line}`);
}

const balance = async (account: string): Promise<number> => (await http('GET', `/accounts/${account}`)).body?.balance;

async function main(): Promise<void> {
  const health = await http('GET', '/health');
  say(`redis-atomic demo against ${BASE_URL} — strategy ${health.body?.strategy ?? '?'}, store ${health.body?.store ?? '?'} (health ${health.status})`);
  say('Amounts are integers in minor units (cents). Every id below ends with this run\'s suffix: ' + RUN);

  const [alice, bob, charlie] = [id('alice'), id('bob'), id('charlie')];

  step(1, 'a transfer as one transaction (MULTI/EXEC)',
    'The seed queues DECRBY + INCRBY in MULTI/EXEC: all or nothing, but nothing checks the balance, so it can overdraw.\n' +
    'Here POST /transfers is one atomic step that also checks the floor and writes both histories and an event:\n' +
    'FCALL accounts_transfer (functions) or WATCH + MULTI/EXEC (transactions).');
  await show('POST', '/accounts', { id: alice, balance: 1000 }, 201, (r) => `opened ${r.body.id} with ${r.body.balance}`);
  await show('POST', '/accounts', { id: bob, balance: 500 }, 201, (r) => `opened ${r.body.id} with ${r.body.balance}`);
  await show('POST', '/transfers', { from: alice, to: bob, amount: 100 }, 201,
    (r) => `transfer ${r.body.id}: ${alice} ${r.body.from.balance}, ${bob} ${r.body.to.balance}`);
  const history = await http('GET', `/accounts/${alice}/history`);
  check(history.body?.entries?.[0]?.type === 'transfer_out' && history.body.entries[0].amount === -100,
    `${alice}'s history records it: ${JSON.stringify(history.body?.entries?.[0] ?? null)}`);

  step(2, 'a balance check that holds under concurrency (WATCH + retry)',
    'The seed WATCHes the balance, reads it, and retries when another client changed it before EXEC.\n' +
    'Here: 20 clients at once each try to move 100 out of an account holding 1000. Exactly 10 can succeed.');
  const [payer, payee] = [id('payer'), id('payee')];
  await http('POST', '/accounts', { id: payer, balance: 1000 });
  await http('POST', '/accounts', { id: payee });
  const results = await Promise.all(Array.from({ length: 20 }, () => http('POST', '/transfers', { from: payer, to: payee, amount: 100 })));
  const count = (status: number) => results.filter((r) => r.status === status).length;
  const codes = [...new Set(results.filter((r) => r.status !== 201).map((r) => r.body?.code))].join(', ');
  say(`   20 × POST /transfers {from: ${payer}, amount: 100} at once → ${count(201)} × 201, ${20 - count(201)} refused (${codes || 'none'})`);
  const [payerBalance, payeeBalance] = [await balance(payer), await balance(payee)];
  check(count(201) === 10 && payerBalance === 0 && payeeBalance === 1000,
    `${payer} ${payerBalance} (never below 0), ${payee} ${payeeBalance}: no money created or lost`);
  await show('POST', '/transfers', { from: payer, to: payee, amount: 1 }, 422,
    (r) => `${r.body.code}: balance ${r.body.balance}, floor ${r.body.floor}`);
  say('   A retry after a timeout is safe with an Idempotency-Key: the first outcome is replayed, never applied twice.');
  const key = id('key');
  await show('POST', '/transfers', { from: payee, to: payer, amount: 250 }, 201, (r) => `applied, ${payee} ${r.body.from.balance}`, { 'Idempotency-Key': key });
  await show('POST', '/transfers', { from: payee, to: payer, amount: 250 }, 201,
    (r) => `Idempotent-Replayed: ${r.headers.get('idempotent-replayed')}, ${payee} still ${r.body.from.balance}`, { 'Idempotency-Key': key });
  check(await balance(payee) === 750, `${payee} ${await balance(payee)}: moved once`);

  step(3, 'server-side logic (Redis Functions)',
    'The seed\'s transfer function reads, checks and writes inside Redis. Our Lua libraries are loaded once\n' +
    '(FUNCTION LOAD REPLACE, or `redis-atomic functions load` at deploy time) and versioned; /health reports them.');
  const libraries = health.body?.functions as { library: string; version: string; expected: string }[] | undefined;
  if (libraries?.length) {
    for (const f of libraries) say(`   library ${f.library}: version ${f.version} on the server, ${f.expected} expected`);
    check(libraries.every((f) => f.version === f.expected), 'every library the service calls is loaded at its version');
  } else {
    say(`   (this service runs the ${health.body?.strategy} strategy: no functions are loaded; start it with ATOMIC_STRATEGY=functions to see them)`);
  }

  step(4, 'an order across types: stock (sorted set), order (hash), user set, stats and queue (list)',
    'The seed checks stock, then writes: two clients can both see the last unit. Here placing an order takes the\n' +
    'stock and writes everything else in one atomic step — or writes nothing.');
  const [laptop, mouse, user] = [id('laptop'), id('mouse'), id('user')];
  await show('PUT', `/inventory/${laptop}`, { stock: 3 }, 200, (r) => `${r.body.productId} stock ${r.body.stock}`);
  await show('PUT', `/inventory/${mouse}`, { stock: 10 }, 200, (r) => `${r.body.productId} stock ${r.body.stock}`);
  await show('POST', '/orders', { userId: user, items: [{ productId: laptop, quantity: 2, unitPrice: 99900 }, { productId: mouse, quantity: 1, unitPrice: 2500 }] }, 201,
    (r) => `order ${r.body.id}: total ${r.body.total}, status ${r.body.status}`);
  await show('POST', '/orders', { userId: user, items: [{ productId: mouse, quantity: 1, unitPrice: 2500 }, { productId: laptop, quantity: 2, unitPrice: 99900 }] }, 422,
    (r) => `${r.body.code} at line ${r.body.index} (${r.body.productId}): nothing written, not even the mouse`);
  const [laptopStock, mouseStock, stats] = [(await http('GET', `/inventory/${laptop}`)).body?.stock, (await http('GET', `/inventory/${mouse}`)).body?.stock,
    (await http('GET', `/users/${user}/stats`)).body];
  check(laptopStock === 1 && mouseStock === 9 && stats?.totalOrders === 1 && stats?.totalSpent === 202300,
    `stock ${laptop} ${laptopStock}, ${mouse} ${mouseStock}; ${user}: ${stats?.totalOrders} order, ${stats?.totalSpent} spent`);

  step(5, 'conditional updates (update_if_conditions_met)',
    'Write these keys only if those conditions hold — checked and applied in one step (POST /kv/transactions).');
  const [doc, counter] = [id('doc'), id('views')];
  await show('POST', '/kv/transactions', { updates: [{ op: 'set', key: doc, value: 'draft' }, { op: 'hset', key: counter, field: 'n', value: 0 }] }, 200,
    (r) => `applied ${r.body.updates} updates`);
  await show('POST', '/kv/transactions', {
    conditions: [{ key: doc, op: 'eq', value: 'draft' }],
    updates: [{ op: 'set', key: doc, value: 'published' }, { op: 'hincrby', key: counter, field: 'n', by: 1 }],
  }, 200, (r) => `condition held: applied ${r.body.updates} updates`);
  await show('POST', '/kv/transactions', {
    conditions: [{ key: counter, field: 'n', op: 'gte', value: 1 }, { key: doc, op: 'eq', value: 'draft' }],
    updates: [{ op: 'set', key: doc, value: 'draft again' }],
  }, 409, (r) => `${r.body.code}: condition ${r.body.index} does not hold, nothing written`);
  const docNow = (await http('GET', `/kv/${doc}`)).body?.value;
  check(docNow === 'published', `${doc} is "${docNow}"`);

  step(6, 'a batch of transfers, all or nothing',
    'The seed pipelines several transfers in one MULTI. Here POST /transfers/batch applies them in order, each\n' +
    'checked against the balances left by the previous ones; if one fails, none is applied.');
  await show('POST', '/accounts', { id: charlie, balance: 0 }, 201, (r) => `opened ${r.body.id} with ${r.body.balance}`);
  const before = [await balance(alice), await balance(bob), await balance(charlie)];
  say(`   balances: ${alice} ${before[0]}, ${bob} ${before[1]}, ${charlie} ${before[2]}`);
  await show('POST', '/transfers/batch', { transfers: [
    { from: alice, to: bob, amount: 50 }, { from: bob, to: charlie, amount: 30 }, { from: charlie, to: alice, amount: 20 },
  ] }, 201, (r) => `applied ${r.body.transfers.length} transfers`);
  const after = [await balance(alice), await balance(bob), await balance(charlie)];
  check(after[0] === before[0] - 30 && after[1] === before[1] + 20 && after[2] === before[2] + 10,
    `balances: ${alice} ${after[0]}, ${bob} ${after[1]}, ${charlie} ${after[2]}`);
  await show('POST', '/transfers/batch', { transfers: [
    { from: alice, to: bob, amount: 10 }, { from: charlie, to: alice, amount: 1000 },
  ] }, 422, (r) => `${r.body.code} at item ${r.body.index}: the first transfer is not applied either`);
  const unchanged = [await balance(alice), await balance(bob), await balance(charlie)];
  check(unchanged.every((b, i) => b === after[i]), `balances unchanged: ${unchanged.join(', ')}`);

  say();
  say('━━ The event log: every write appended one event in the same atomic step (this run\'s, GET /events?stream=ledger):');
  const ours: { type: string; data: unknown }[] = [];
  for (let after = '', pages = 0; pages < 100; pages++) { // the stream may hold other runs' events: page to its end
    const page = await http('GET', `/events?stream=ledger&limit=1000${after ? `&after=${after}` : ''}`);
    ours.push(...(page.body?.events ?? []).filter((e: { data: unknown }) => JSON.stringify(e.data).includes(RUN)));
    if (!page.body?.next) break;
    after = page.body.next;
  }
  const types = new Map<string, number>();
  for (const e of ours) types.set(e.type, (types.get(e.type) ?? 0) + 1);
  say(`   ${[...types].map(([type, n]) => `${type} × ${n}`).join(', ') || '(none)'}`);
  check(ours.length > 0, `${ours.length} ledger events from this run`);

  say();
  if (failures) {
    say(`demo finished: ${failures} check(s) did not behave as described`);
    process.exitCode = 1;
  } else {
    say('demo finished: all six steps behaved as described');
  }
}

main().catch((err: unknown) => {
  if (err instanceof Unreachable) {
    console.error(`cannot reach the service at ${err.message}\n  → start it first: npm start (or ATOMIC_STRATEGY=memory npm start), or set BASE_URL`);
    process.exitCode = 2;
    return;
  }
  console.error(err);
  process.exitCode = 1;
});
