import { DynamicModule, Module } from '@nestjs/common';
import { RedisAtomicModule } from '@kernel/nest';
import { AccountsModule } from './accounts/accounts.module';
import { AppConfig } from './config';
import { HEALTH_STRATEGY, HealthController } from './health/health.controller';
import { InventoryModule } from './shop/inventory/inventory.module';
import { EventsModule } from './events/events.module';
import { KvModule } from './kv/kv.module';
import { OrdersModule } from './shop/orders/orders.module';

@Module({})
export class AppModule {
  static forRoot(config: AppConfig): DynamicModule {
    const redis = config.strategy === 'memory' ? [] : [RedisAtomicModule.forRoot(config.redis)];
    return {
      module: AppModule,
      imports: [
        ...redis,
        AccountsModule.forRoot({
          strategy: config.strategy,
          ledger: config.ledger,
          maxBatch: config.maxBatch,
          historyLimit: config.historyLimit,
          idempotencyTtlSeconds: config.idempotencyTtlSeconds,
          eventsMaxLen: config.eventsMaxLen,
          sweepIntervalMs: config.sweepIntervalMs,
        }),
        // One shop for both: orders take stock from this inventory in the same atomic step.
        InventoryModule.forRoot({
          strategy: config.strategy, shop: config.shop, idempotencyTtlSeconds: config.idempotencyTtlSeconds, eventsMaxLen: config.eventsMaxLen,
        }),
        OrdersModule.forRoot({
          strategy: config.strategy, shop: config.shop, idempotencyTtlSeconds: config.idempotencyTtlSeconds, eventsMaxLen: config.eventsMaxLen,
        }),
        // GET /events?stream=ledger|shop|kv: the event log of the ledger's / the shop's / the kv namespace's shard.
        EventsModule.forRoot({ strategy: config.strategy, streams: { ledger: config.ledger, shop: config.shop, kv: config.kvNamespace } }),
        KvModule.forRoot({
          strategy: config.strategy, namespace: config.kvNamespace, idempotencyTtlSeconds: config.idempotencyTtlSeconds,
          eventsMaxLen: config.eventsMaxLen,
        }),
      ],
      controllers: [HealthController],
      providers: [{ provide: HEALTH_STRATEGY, useValue: config.strategy }],
    };
  }
}
