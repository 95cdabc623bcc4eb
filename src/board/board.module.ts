import { DynamicModule, Module } from '@nestjs/common';
import { AtomicMetrics, FunctionLibraries, REDIS_CLIENT } from '@kernel/nest';
import type { RedisClient } from '@kernel/redis';
import { RedisBoardHealth } from './adapters/redis-health';
import { boardController } from './board.controller';
import { BOARD_HEALTH, BOARD_METRICS, BOARD_OPTIONS, BoardMetrics, BoardModuleOptions } from './board.port';
import { BoardReadModel } from './board-read-model';
import { EventTail } from './event-tail';
import { LedgerAuditModule } from './ledger-audit.module';

/**
 * The operator board: a page at `path` (default `/board`) showing ledgers, accounts, pending transfers, orders,
 * low stock, a live tail of the event streams, operation rates and latency, health, and the ledger audit.
 *
 *   BoardModule.forRoot({ path: '/board', token: process.env.BOARD_TOKEN })
 *
 * It reads the app's own ports (AccountsModule, EventsModule, and when mounted OrdersModule, InventoryModule,
 * KvModule, AtomicMetricsModule), so it mounts in any host app beside them. Read-only without a token.
 */
@Module({})
export class BoardModule {
  static forRoot(options: BoardModuleOptions = {}): DynamicModule {
    const path = (options.path ?? '/board').replace(/\/+$/, '') || '/board';
    if (!/^\/[A-Za-z0-9/_-]*$/.test(path)) throw new Error('BoardModule path must look like /board');
    if (options.token !== undefined && options.token.length < 16) throw new Error('BoardModule token must be at least 16 characters');
    const resolved = {
      ...options, path,
      stuckAfterSeconds: options.stuckAfterSeconds ?? 60,
      lowStockBelow: options.lowStockBelow ?? 10,
    };
    return {
      module: BoardModule,
      imports: [LedgerAuditModule.forRoot({ ledgers: resolved.ledgers })],
      providers: [
        { provide: BOARD_OPTIONS, useValue: resolved },
        {
          provide: BOARD_HEALTH,
          useFactory: (client?: RedisClient, libraries?: FunctionLibraries) => new RedisBoardHealth(client, libraries),
          inject: [{ token: REDIS_CLIENT, optional: true }, { token: FunctionLibraries, optional: true }],
        },
        {
          provide: BOARD_METRICS,
          useFactory: (metrics?: AtomicMetrics): BoardMetrics => ({
            read: async () => (metrics ? (await metrics.registry.getMetricsAsJSON()) as unknown as { name: string; values: never[] }[] : null),
          }),
          inject: [{ token: AtomicMetrics, optional: true }],
        },
        BoardReadModel,
        EventTail,
      ],
      controllers: [boardController(path)],
    };
  }
}
