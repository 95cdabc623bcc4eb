import { DynamicModule, Module } from '@nestjs/common';
import { assertId, AtomicStrategy, EVENT_LOG_READER, EventLogReader, KeySpace, validationFailed } from '@kernel/core';
import { MemoryEventLogReader } from '@kernel/memory';
import { MemoryStoresModule, StrategyContext, strategyProvider } from '@kernel/nest';
import { RedisEventLogReader } from '@kernel/redis';
import { EventsController, LedgerEventsController, NamespaceEventsController, ShopEventsController } from './events.controller';
import { EVENT_LOG, EventLog, EventsQuery } from './events.port';

export interface EventsModuleOptions {
  strategy: AtomicStrategy;
  /**
   * The readable streams: a name → the shard (hash tag) whose log it is, e.g. `{ ledger: 'main', shop: 'main',
   * kv: 'kv' }`. Two names on one shard name the same stream (its events are of both modules).
   */
  streams: Record<string, string>;
  /** Mount GET /events and the per-shard logs (GET /ledgers/:ledger/events, /shops/:shop/events, /namespaces/:namespace/events). Default true. */
  http?: boolean;
}

const EVENTS_OPTIONS = Symbol('EVENTS_OPTIONS');

/** GET /events and the EVENT_LOG port: pages through a shard's event log, on every strategy. */
@Module({})
export class EventsModule {
  static forRoot({ http = true, ...options }: EventsModuleOptions): DynamicModule {
    return {
      module: EventsModule,
      imports: [MemoryStoresModule],
      providers: [
        { provide: EVENTS_OPTIONS, useValue: options },
        strategyProvider(EVENT_LOG_READER, EVENTS_OPTIONS, 'EventsModule', createReader),
        {
          provide: EVENT_LOG,
          useFactory: (reader: EventLogReader): EventLog => new NamedEventLog(reader, options.streams),
          inject: [EVENT_LOG_READER],
        },
      ],
      controllers: http ? [EventsController, LedgerEventsController, ShopEventsController, NamespaceEventsController] : [],
      exports: [EVENT_LOG],
    };
  }
}

function createReader(options: EventsModuleOptions, { memory, redis }: StrategyContext): EventLogReader {
  if (options.strategy === 'memory') return new MemoryEventLogReader(memory);
  const kernel = redis();
  return new RedisEventLogReader(kernel.client, (shard) => new KeySpace(kernel.keyPrefix, shard).events);
}

class NamedEventLog implements EventLog {
  constructor(private readonly reader: EventLogReader, private readonly shards: Record<string, string>) {}

  streams(): string[] {
    return Object.keys(this.shards);
  }

  readShard(shard: string, query?: EventsQuery, field = 'shard') {
    try {
      assertId(shard, field);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.reader.read(shard, query);
  }

  read(stream: string, query?: EventsQuery) {
    if (!this.known(stream)) return this.unknown();
    return this.reader.read(this.shards[stream], query);
  }

  infoShard(shard: string, field = 'shard') {
    try {
      assertId(shard, field);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.reader.info(shard);
  }

  info(stream: string) {
    if (!this.known(stream)) return this.unknown();
    return this.reader.info(this.shards[stream]);
  }

  shardOf(stream: string): string | undefined {
    return this.known(stream) ? this.shards[stream] : undefined;
  }

  private known(stream: string): boolean {
    return typeof stream === 'string' && Object.prototype.hasOwnProperty.call(this.shards, stream);
  }

  private unknown(): Promise<never> {
    return Promise.reject(validationFailed(`stream must be one of ${this.streams().join(', ')}`, { field: 'stream' }));
  }
}
