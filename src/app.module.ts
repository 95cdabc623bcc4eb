import { DynamicModule, Module } from '@nestjs/common';
import { AtomicMetricsModule, RedisAtomicModule } from '@kernel/nest';
import { AccountsModule } from './accounts/accounts.module';
import { AppConfig } from './config';
import { HealthModule } from './health/health.module';
import { loggingModule } from './logging';
import { InventoryModule } from './shop/inventory/inventory.module';
import { EventsModule } from './events/events.module';
import { KvModule } from './kv/kv.module';
import { OrdersModule } from './shop/orders/orders.module';
import { rateLimit } from './rate-limit';
import { BoardModule } from './board/board.module';

@Module({})
export class AppModule {
  static forRoot(config: AppConfig): DynamicModule {
    const redis = config.strategy === 'memory' ? [] : [RedisAtomicModule.forRoot(config.redis)];
    const limit = rateLimit(config.rateLimit); // off unless RATE_LIMIT_MAX is set
    return {
      module: AppModule,
      imports: [
        loggingModule(config.log),
        HealthModule.forRoot(config.strategy),
        // GET /metrics, and every port of every module below measured (METRICS=false: neither).
        ...(config.metrics ? [AtomicMetricsModule.forRoot({ http: true })] : []),
        ...redis,
        ...limit.imports,
        AccountsModule.forRoot({
          strategy: config.strategy,
          ledger: config.ledger,
          shards: config.shards.ledgers,
          maxBatch: config.maxBatch,
          historyLimit: config.historyLimit,
          idempotencyTtlSeconds: config.idempotencyTtlSeconds,
          eventsMaxLen: config.eventsMaxLen,
          sweepIntervalMs: config.pendingSweepMs,
          spread: config.ledgerSpread,
          escrowTimeoutMs: config.escrowTimeoutMs,
          escrowGraceMs: config.escrowGraceMs,
        }),
        // One shop for both: orders take stock from this inventory in the same atomic step.
        InventoryModule.forRoot({
          strategy: config.strategy, shop: config.shop, shards: config.shards.shops, idempotencyTtlSeconds: config.idempotencyTtlSeconds,
          eventsMaxLen: config.eventsMaxLen,
          // Lapsed stock reservations give their units back: every instance sweeps (safe: each is expired once);
          // RESERVATION_SWEEP_MS=0 leaves it to other instances.
          ...(config.reservationSweepMs > 0 && { reservationSweep: { intervalMs: Math.max(10, config.reservationSweepMs) } }),
        }),
        OrdersModule.forRoot({
          strategy: config.strategy, shop: config.shop, shards: config.shards.shops, idempotencyTtlSeconds: config.idempotencyTtlSeconds, eventsMaxLen: config.eventsMaxLen,
        }),
        // GET /events?stream=ledger|shop|kv: the event log of the ledger's / the shop's / the kv namespace's shard;
        // GET /ledgers/:ledger/events (and shops, namespaces): any shard's.
        EventsModule.forRoot({ strategy: config.strategy, streams: { ledger: config.ledger, shop: config.shop, kv: config.kvNamespace } }),
        KvModule.forRoot({
          strategy: config.strategy, namespace: config.kvNamespace, shards: config.shards.kvNamespaces, idempotencyTtlSeconds: config.idempotencyTtlSeconds,
          eventsMaxLen: config.eventsMaxLen,
        }),
        // The operator board (BOARD_ENABLED / BOARD_TOKEN): reads the modules above through their ports.
        ...(config.board.enabled ? [BoardModule.forRoot({
          path: '/board', token: config.board.token, strategy: config.strategy, // every served ledger, shop and kv namespace
        })] : []),
      ],
      providers: [...limit.providers],
    };
  }
}
