import { DynamicModule, InjectionToken, Module, ModuleMetadata } from '@nestjs/common';
import { DEFAULT_EVENTS_MAXLEN, IdempotencyOptions, KeySpace, memoryEventLog, MemoryIdempotency } from '../../libs/redis-atomic/src';
import { AtomicStrategy, MemoryStoresModule, StrategyContext, strategyProvider } from '../../libs/redis-atomic/src/strategy';
import { MemoryKv, MemoryKvData, memoryKvName, memoryKvRecordsName } from './adapters/memory';
import { RedisFunctionsKv } from './adapters/redis-functions';
import { RedisTransactionsKv } from './adapters/redis-transactions';
import { ConditionalStore, KV_STORE } from './kv.port';
import { KvController } from './kv.controller';
import { KvKeys } from './keys';
import { ValidatedKv } from './validated-kv';

export interface KvModuleOptions {
  /** functions: one FCALL per transaction · transactions: MULTI / WATCH+MULTI · memory: in-process, no Redis. */
  strategy: AtomicStrategy;
  /** The namespace: the hash tag of all the store's keys (the unit of atomicity and of sharding). Default `kv`. */
  namespace?: string;
  /** How long idempotency records are kept, in seconds (an integer >= 1). Default 86400. */
  idempotencyTtlSeconds?: number;
  /** The cap of the namespace's event log (`XADD … MAXLEN ~`: approximate). Default 100000. */
  eventsMaxLen?: number;
}

export interface KvModuleAsyncOptions extends Pick<ModuleMetadata, 'imports'> {
  useFactory: (...deps: any[]) => KvModuleOptions | Promise<KvModuleOptions>;
  inject?: InjectionToken[];
  /** Mount the HTTP routes (decided at import time, since routes are static). Default true. */
  http?: boolean;
}

const KV_OPTIONS = Symbol('KV_OPTIONS');

/**
 * Binds the KV_STORE port to the adapter of the chosen strategy, behind the validation gate. The Redis
 * strategies need RedisAtomicModule.forRoot(…) imported once in the app (it is global); memory needs nothing.
 */
@Module({})
export class KvModule {
  static forRoot({ http, ...options }: KvModuleOptions & { http?: boolean }): DynamicModule {
    return KvModule.forRootAsync({ http, useFactory: () => options });
  }

  static forRootAsync({ imports = [], useFactory, inject = [], http = true }: KvModuleAsyncOptions): DynamicModule {
    return {
      module: KvModule,
      imports: [MemoryStoresModule, ...imports],
      providers: [
        { provide: KV_OPTIONS, useFactory, inject },
        strategyProvider(KV_STORE, KV_OPTIONS, 'KvModule', createKv),
      ],
      controllers: http ? [KvController] : [],
      exports: [KV_STORE],
    };
  }
}

/** The one switch from strategy to adapter. */
async function createKv(options: KvModuleOptions, { memory, redis }: StrategyContext): Promise<ConditionalStore> {
  const namespace = options.namespace ?? 'kv';
  const idempotency = kvIdempotency(options.idempotencyTtlSeconds);
  const eventsMaxLen = options.eventsMaxLen ?? DEFAULT_EVENTS_MAXLEN;
  if (!Number.isSafeInteger(eventsMaxLen) || eventsMaxLen < 1) {
    throw new Error(`KvModule eventsMaxLen must be an integer >= 1 (got ${String(eventsMaxLen)})`);
  }
  if (options.strategy === 'memory') {
    new KeySpace('ra', namespace); // the same namespace check as the Redis strategies
    const data = memory.get(memoryKvName(namespace), () => new MemoryKvData());
    const records = memory.get(memoryKvRecordsName(namespace), () => new MemoryIdempotency());
    return new ValidatedKv(new MemoryKv(data, records, namespace, idempotency, memoryEventLog(memory, namespace), eventsMaxLen));
  }
  const kernel = redis();
  const keys = new KvKeys(new KeySpace(kernel.keyPrefix, namespace));
  if (options.strategy === 'functions') {
    const library = kernel.libraries.get('kv');
    await library.prepare(kernel.options.loadFunctions !== false);
    return new ValidatedKv(new RedisFunctionsKv(library, keys, idempotency, eventsMaxLen));
  }
  return new ValidatedKv(new RedisTransactionsKv(kernel.client, kernel.watch, keys, idempotency, eventsMaxLen));
}

function kvIdempotency(ttlSeconds = 86_400): IdempotencyOptions {
  if (!Number.isSafeInteger(ttlSeconds) || ttlSeconds < 1) {
    throw new Error(`KvModule idempotencyTtlSeconds must be an integer >= 1 (got ${String(ttlSeconds)})`);
  }
  return { ttlSeconds };
}
