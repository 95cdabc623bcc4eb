import { Module } from '@nestjs/common';
import { AtomicStrategy, DEFAULT_EVENTS_MAXLEN, IdempotencyOptions, KeySpace } from '@kernel/core';
import { memoryEventLog, MemoryIdempotency } from '@kernel/memory';
import { featureModule, StrategyContext } from '@kernel/nest';
import { MemoryKv, MemoryKvData, memoryKvName, memoryKvRecordsName } from './adapters/memory';
import { RedisFunctionsKv } from './adapters/redis-functions';
import { RedisTransactionsKv } from './adapters/redis-transactions';
import { ConditionalStore } from './kv.port';
import { getKvStoreToken } from './kv.tokens';
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

const { ConfigurableModuleClass, OPTIONS_TYPE, ASYNC_OPTIONS_TYPE } = featureModule<KvModuleOptions>({
  moduleName: 'KvModule',
  token: getKvStoreToken,
  create: createKv,
  controllers: [KvController],
});

/**
 * Binds the ConditionalStore port to the adapter of the chosen strategy, behind the validation gate. The Redis
 * strategies need RedisAtomicModule.forRoot(…) once in the app (it is global); memory needs nothing.
 * Extras: `name` (@InjectKvStore(name)), `http` (default: true unnamed, false named), `isGlobal`.
 */
@Module({})
export class KvModule extends ConfigurableModuleClass {}

export type KvModuleForRootOptions = typeof OPTIONS_TYPE;
export type KvModuleAsyncOptions = typeof ASYNC_OPTIONS_TYPE;

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
