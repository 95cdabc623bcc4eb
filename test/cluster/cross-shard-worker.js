/* eslint-disable */
// A chaos-test process (test/cluster/cross-shard.cluster.spec.ts): a coordinator running cross-shard transfers
// and batches in a loop, or a sweeper sweeping in a loop, on a spread ledger of a local cluster. Plain JavaScript
// over the service's compiled sources (test/support/compiled-service.ts) so it starts in about a second; the test
// SIGKILLs, SIGSTOPs and SIGCONTs it at will. Config from the environment.
const root = process.env.COMPILED_ROOT;
const { createSpread } = require(`${root}/src/accounts/spread/adapters/create-spread.js`);
const { ValidatedLedger } = require(`${root}/src/accounts/validated-ledger.js`);
const { Coordinator } = require(`${root}/src/accounts/spread/coordinator.js`);
const { connectRedis, FunctionLibrary, WatchRunner } = require(`${root}/libs/redis-atomic/src/redis/index.js`);

const env = process.env;
const accounts = env.ACCOUNTS.split(',');
const ghosts = env.GHOSTS ? env.GHOSTS.split(',') : [];
const limits = { maxBatch: 100, historyLimit: 1000, idempotencyTtlSeconds: 3600, eventsMaxLen: 10000 };

async function main() {
  let client;
  for (let attempt = 1; !client; attempt++) { // many processes start at once on a loaded machine: retry the connect
    try {
      client = await connectRedis({ cluster: { nodes: env.NODES.split(',') }, waitReplicas: Number(env.WAIT_REPLICAS || 0), waitTimeoutMs: 3000 });
    } catch (err) {
      if (attempt >= 30) throw err;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  const accountsLib = FunctionLibrary.fromFile(client, 'accounts');
  const escrowLib = FunctionLibrary.fromFile(client, 'escrow');
  const parts = createSpread('functions', env.LEDGER, limits,
    { spread: Number(env.SPREAD), timeoutMs: Number(env.TIMEOUT_MS), graceMs: Number(env.GRACE_MS) },
    { redis: { client, watch: new WatchRunner(client), keyPrefix: 'ra', accounts: accountsLib, escrow: escrowLib } });
  if (env.UNSAFE === '1') {
    // The negative control: a BROKEN coordinator that posts each participant as soon as its hold answers HELD — before
    // the decision. Built here, over a store whose hold posts right away; the production code has no such switch.
    const store = parts.store;
    const broken = Object.create(store);
    broken.hold = async (...args) => {
      const vote = await store.hold(...args);
      if (vote.kind === 'HELD') await store.post(args[0], args[1]);
      return vote;
    };
    parts.ledger.coordinator = new Coordinator(broken, parts.routing, { timeoutMs: Number(env.TIMEOUT_MS), graceMs: Number(env.GRACE_MS) });
  }
  const ledger = new ValidatedLedger(parts.ledger, limits);
  const pick = (list) => list[Math.floor(Math.random() * list.length)];
  process.stdout.write('ready\n');
  for (let n = 0; ; n++) {
    try {
      if (env.ROLE === 'sweeper') {
        const report = await parts.sweeper.sweep(50);
        if (report.conflicts) process.stdout.write(`conflict ${report.alerts.join('; ')}\n`);
        for (const e of report.errors) process.stdout.write(`sweep-error ${e}\n`);
        await new Promise((r) => setTimeout(r, 30));
        continue;
      }
      const from = pick(accounts);
      let to = pick(accounts);
      while (to === from) to = pick(accounts);
      if (ghosts.length && Math.random() < 0.1) to = pick(ghosts);
      const amount = 1 + Math.floor(Math.random() * 60);
      const key = `${process.pid}-${n}`;
      if (Math.random() < 0.2) {
        const third = pick(accounts.filter((a) => a !== to));
        await ledger.transferBatch([{ from, to, amount }, { from: to, to: third, amount: Math.ceil(amount / 2) }], { idempotencyKey: key });
      } else {
        await ledger.transfer({ from, to, amount }, { idempotencyKey: key });
      }
    } catch (err) {
      // Refusals, timeouts and failover errors are expected; the checker judges the end state.
      if (env.ROLE === 'sweeper' || !err || !err.code || ['STORE_CORRUPTED', 'INVALID_ARGUMENT'].includes(err.code)) {
        process.stdout.write(`error ${err && (err.code || '')} ${err && err.message}\n`);
      }
    }
  }
}

main().catch((err) => {
  process.stderr.write(`worker failed: ${err && err.stack}\n`);
  process.exit(1);
});
