import { Test } from '@nestjs/testing';
import type Redis from 'ioredis';
import type { AtomicStrategy } from '@kernel/core';
import { RedisAtomicModule } from '@kernel/nest';
import { InventoryModule } from '../../src/shop/inventory/inventory.module';
import { INVENTORY, Inventory } from '../../src/shop/inventory/inventory.port';
import { OrdersModule } from '../../src/shop/orders/orders.module';
import { ORDERS, OrderLine, Orders } from '../../src/shop/orders/orders.port';
import { BenchContext, loadOptions } from '../lib/context';
import { KEY_PREFIX } from '../lib/ledgers';
import { closedLoop, LoadResult } from '../lib/measure';
import { innerSummary, loadOnServer, ServerLoadResult } from '../lib/redis-stats';
import { describe } from './strategies';

/**
 * 6. Orders: `place` through the Orders port (InventoryModule.forRoot + OrdersModule.forRoot on one shop,
 * `http: false`) for functions, transactions and memory, on two workloads:
 *   many — 1,000 products, random orders of 1–3 distinct products (quantity 1–3) from 10,000 users;
 *   hot  — every order takes 1 unit of the same product (from the same 10,000 users).
 * Stock is 10^12 per product, so no phase runs out. No target in the issue: the rows report ratios
 * (functions / transactions, hot / many) measured in the same run, and the server time per FCALL of
 * orders_place (commandstats) with the commands it runs inside.
 *
 * Every `place` touches the shop's one stock sorted set and its one pending list, whichever products it names:
 * in Redis both workloads write the same keys, so "hot" differs from "many" only by the single ZSET member
 * (and by 1 line instead of 2 on average). The transactions strategy WATCHes both keys on every place, so
 * its in-process same-key queue serializes all orders of this process; WATCH retries come from commandstats.
 */
const SCENARIO = 'orders';
const PRODUCTS = 1_000;
const USERS = 10_000;
const STOCK = 1e12;
/** Phases are shorter than strategies' (the full run must stay within 5 minutes). */
const PHASE_SCALE = 0.6;
const STRATEGIES: AtomicStrategy[] = ['functions', 'transactions', 'memory'];
type Workload = 'many' | 'hot';

interface Shop {
  orders: Orders;
  inventory: Inventory;
  close(): Promise<void>;
}

/** Inventory and Orders wired as in production, on one shop (port only, no HTTP). */
async function benchShop(strategy: AtomicStrategy, url: string, shop: string): Promise<Shop> {
  const redis = strategy === 'memory' ? [] : [RedisAtomicModule.forRoot({ url })];
  const moduleRef = await Test.createTestingModule({
    imports: [...redis, InventoryModule.forRoot({ strategy, shop, http: false }), OrdersModule.forRoot({ strategy, shop, http: false })],
  }).compile();
  await moduleRef.init();
  return { orders: moduleRef.get<Orders>(ORDERS), inventory: moduleRef.get<Inventory>(INVENTORY), close: () => moduleRef.close() };
}

const pick = (n: number) => Math.floor(Math.random() * n);
const productId = (i: number) => `p${i}`;
const HOT = productId(0);

/** 1–3 distinct products of the 1,000, quantity 1–3 each. */
function manyLines(): OrderLine[] {
  const count = 1 + pick(3);
  const chosen = new Set<number>();
  while (chosen.size < count) chosen.add(pick(PRODUCTS));
  return [...chosen].map((i) => ({ productId: productId(i), quantity: 1 + pick(3), unitPrice: 100 + i }));
}

const hotLines = (): OrderLine[] => [{ productId: HOT, quantity: 1, unitPrice: 100 }];

export async function orders(ctx: BenchContext): Promise<void> {
  const results = new Map<string, LoadResult & Partial<ServerLoadResult>>();
  let run = 0;
  for (const strategy of STRATEGIES) {
    const shopName = `bo${run++}`;
    const shop = await benchShop(strategy, ctx.server.url, shopName);
    try {
      for (let i = 0; i < PRODUCTS; i += 250) {
        await Promise.all(Array.from({ length: Math.min(250, PRODUCTS - i) }, (_, j) => shop.inventory.setStock(productId(i + j), STOCK)));
      }
      for (const concurrency of ctx.concurrencies) {
        for (const workload of ['many', 'hot'] as const) {
          const lines = workload === 'many' ? manyLines : hotLines;
          const op = () => shop.orders.place({ userId: `u${pick(USERS)}`, items: lines() });
          const options = loadOptions(ctx, concurrency, PHASE_SCALE);
          const result: LoadResult & Partial<ServerLoadResult> = strategy === 'memory' ? await closedLoop(op, options) : await loadOnServer(ctx.admin, op, options);
          results.set(`${strategy}|${workload}|${concurrency}`, result);
          const inside = result.commands?.fcall ? innerSummary(result.commands) : undefined;
          ctx.report.load(SCENARIO, `place ${strategy} ${workload} c${concurrency}`, result, describe(result),
            { workload, strategy, concurrency, ...(inside ? { orders_place_inside: inside } : {}) });
        }
      }
      const hot = await shop.inventory.get(HOT);
      if (hot.stock <= 0) ctx.report.row({ scenario: SCENARIO, name: `WARNING ${strategy}: the hot product ran out`, note: `stock ${hot.stock}` });
    } finally {
      await shop.close();
      if (strategy !== 'memory') await unlinkShop(ctx.admin, shopName);
    }
  }
  summarize(ctx, results);
}

/** Ratios of the same run: functions / transactions, hot / many, and orders_place's server µs per FCALL. */
function summarize(ctx: BenchContext, results: Map<string, LoadResult & Partial<ServerLoadResult>>): void {
  const get = (s: AtomicStrategy, w: Workload, c: number) => results.get(`${s}|${w}|${c}`);
  const ratio = (a?: LoadResult, b?: LoadResult) => (a && b && b.opsPerSec > 0 ? a.opsPerSec / b.opsPerSec : NaN);
  const x = (v: number) => (Number.isFinite(v) ? `${v.toFixed(2)}×` : 'n/a');
  for (const c of ctx.concurrencies) {
    const fnTx = (['many', 'hot'] as const).map((w) => ratio(get('functions', w, c), get('transactions', w, c)));
    const hotMany = STRATEGIES.map((s) => ratio(get(s, 'hot', c), get(s, 'many', c)));
    const data = {
      concurrency: c,
      functionsOverTransactions: { many: fnTx[0], hot: fnTx[1] },
      hotOverMany: Object.fromEntries(STRATEGIES.map((s, i) => [s, hotMany[i]])),
    };
    ctx.report.row({
      scenario: SCENARIO, name: `ratios c${c}`,
      note: `functions/transactions: many ${x(fnTx[0])}, hot ${x(fnTx[1])} · hot/many: ` +
        STRATEGIES.map((s, i) => `${s} ${x(hotMany[i])}`).join(', '),
      data,
    });
    for (const w of ['many', 'hot'] as const) {
      const fcall = get('functions', w, c)?.commands;
      if (!fcall?.fcall) continue;
      ctx.report.row({
        scenario: SCENARIO, name: `orders_place server µs/FCALL ${w} c${c}`,
        note: `${fcall.fcall.usecPerCall.toFixed(1)} µs/call; inside: ${innerSummary(fcall)}`,
        data: { usecPerCall: fcall.fcall.usecPerCall, inside: fcall },
      });
    }
  }
}

/** Drops the shop's keys (orders, users, queue, stock) so later scenarios do not share the server with them. */
async function unlinkShop(admin: Redis, shop: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await admin.scan(cursor, 'MATCH', `${KEY_PREFIX}:{${shop}}:*`, 'COUNT', 5000);
    if (keys.length) await admin.unlink(...keys);
    cursor = next;
  } while (cursor !== '0');
}
