import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import Redis from 'ioredis';

/**
 * The floor of the HTTP bench: a hand-written node:http + ioredis server doing what POST /transfers must do
 * at the least — parse the JSON, check ids and the amount, one FCALL of our accounts_transfer with the same
 * KEYS and ARGV as the port sends (no idempotency key), answer the receipt as JSON. No framework.
 * Env: REDIS_URL, LEDGER, BENCH_PORT. Prints `LISTENING <port>`; exits when its stdin closes.
 */
const ID = /^[A-Za-z0-9_-]{1,64}$/;
const ledger = process.env.LEDGER ?? 'http';
const key = (kind: string, id: string) => `ra:{${ledger}}:${kind}:${id}`;
const redis = new Redis(process.env.REDIS_URL!, { enableAutoPipelining: false, maxRetriesPerRequest: 0 });

const server = createServer((req, res) => {
  const reply = (status: number, body: unknown) => {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) }).end(text);
  };
  if (req.method !== 'POST' || req.url !== '/transfers') return reply(404, { code: 'NOT_FOUND' });
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk)).on('end', () => {
    let body: { from?: unknown; to?: unknown; amount?: unknown };
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      return reply(400, { code: 'VALIDATION_FAILED' });
    }
    const { from, to, amount } = body;
    if (typeof from !== 'string' || typeof to !== 'string' || !ID.test(from) || !ID.test(to) || from === to ||
      !Number.isSafeInteger(amount) || (amount as number) < 1) return reply(400, { code: 'VALIDATION_FAILED' });
    const id = randomUUID();
    redis.call('FCALL', 'accounts_transfer', 5, key('acct', from), key('acct', to), key('hist', from), key('hist', to), `ra:{${ledger}}:events`,
      '', 0, amount as number, '', id, 1000, from, to, 100_000)
      .then((r) => {
        const [, fromBalance, toBalance, at] = r as [unknown, number, number, number]; // after the replayed flag
        reply(201, { id, from: { id: from, balance: fromBalance }, to: { id: to, balance: toBalance }, amount, at: new Date(Number(at)).toISOString() });
      }, (err: Error) => reply(err.message.startsWith('INSUFFICIENT_FUNDS') ? 422 : 500, { code: err.message.split(' ')[0] }));
  });
});

server.listen(Number(process.env.BENCH_PORT ?? 0), '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`LISTENING ${typeof address === 'object' && address ? address.port : address}\n`);
});
const stop = () => server.close(() => redis.quit().finally(() => process.exit(0)));
process.stdin.on('end', stop).on('error', stop).resume();
setTimeout(stop, 10 * 60_000).unref();
