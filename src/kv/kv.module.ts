import { Module } from '@nestjs/common';
import { AtomicStrategy, DEFAULT_EVENTS_MAXLEN, IdempotencyOptions, KeySpace } from '@kernel/core';
import { memoryEventLog, MemoryIdempotency } from '@kernel/memory';
import { featureModule, ShardedOptions, ShardFactory, StrategyContext } from '@kernel/nest';
import { MemoryKv, MemoryKvData, memoryKvName, memoryKvRecordsName } from './adapters/memory';
import { RedisFunctionsKv } from './adapters/redis-functions';
import { RedisTransactionsKv } from './adapters/redis-transactions';
import { ConditionalStore } from './kv.port';
import { getKvNamespacesToken, getKvStoreToken } from './kv.tokens';
import { KvController, NamespaceKvController } from './kv.controller';
import { KvKeys } from './keys';
import { ValidatedKv } from './validated-kv';

export interface KvModuleOptions extends ShardedOptions {
  /** functions: one FCALL per transaction · transactions: MULTI / WATCH+MULTI · memory: in-process, no Redis. */
  strategy: AtomicStrategy;
  /**
   * The default namespace (the plain routes, @InjectKvStore()): the hash tag of all the store's keys (the unit of
   * atomicity and of sharding). Default `kv`. Any other namespace: @InjectKvNamespaces(), /namespaces/:namespace/kv/….
   */
  namespace?: string;
  /** How long idempotency records are kept, in seconds (an integer >= 1). Default 86400. */
  idempotencyTtlSeconds?: number;
  /** The cap of the namespace's event log (`XADD … MAXLEN ~`: approximate). Default 100000. */
  eventsMaxLen?: number;
}

const { ConfigurableModuleClass, OPTIONS_TYPE, ASYNC_OPTIONS_TYPE } = featureModule<KvModuleOptions, ConditionalStore>({
  moduleName: 'KvModule',
  shardField: 'namespace',
  token: getKvStoreToken,
  directoryToken: getKvNamespacesToken,
  create: createKv,
  controllers: [KvController, NamespaceKvController],
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

/** Checks the options once; then the one switch from strategy to adapter, per namespace, behind the gate. */
async function createKv(options: KvModuleOptions, { memory, redis }: StrategyContext): Promise<ShardFactory<ConditionalStore>> {
  const idempotency = kvIdempotency(options.idempotencyTtlSeconds);
  const eventsMaxLen = options.eventsMaxLen ?? DEFAULT_EVENTS_MAXLEN;
  if (!Number.isSafeInteger(eventsMaxLen) || eventsMaxLen < 1) {
    throw new Error(`KvModule eventsMaxLen must be an integer >= 1 (got ${String(eventsMaxLen)})`);
  }
  const adapter = await adapterFactory(options.strategy, idempotency, eventsMaxLen, { memory, redis });
  return { defaultShard: options.namespace ?? 'kv', shard: (namespace) => new ValidatedKv(adapter(namespace)), stateless: options.strategy !== 'memory' };
}

async function adapterFactory(strategy: AtomicStrategy, idempotency: IdempotencyOptions, eventsMaxLen: number,
  { memory, redis }: Omit<StrategyContext, 'observe'>): Promise<(namespace: string) => ConditionalStore> {
  if (strategy === 'memory') {
    return (namespace) => new MemoryKv(memory.get(memoryKvName(namespace), () => new MemoryKvData()),
      memory.get(memoryKvRecordsName(namespace), () => new MemoryIdempotency()), namespace, idempotency, memoryEventLog(memory, namespace), eventsMaxLen);
  }
  const kernel = redis();
  const keys = (namespace: string) => new KvKeys(new KeySpace(kernel.keyPrefix, namespace));
  if (strategy === 'functions') {
    const library = kernel.libraries.get('kv');
    await library.prepare(kernel.options.loadFunctions !== false);
    return (namespace) => new RedisFunctionsKv(library, keys(namespace), idempotency, eventsMaxLen);
  }
  return (namespace) => new RedisTransactionsKv(kernel.client, kernel.watch, keys(namespace), idempotency, eventsMaxLen);
}

function kvIdempotency(ttlSeconds = 86_400): IdempotencyOptions {
  if (!Number.isSafeInteger(ttlSeconds) || ttlSeconds < 1) {
    throw new Error(`KvModule idempotencyTtlSeconds must be an integer >= 1 (got ${String(ttlSeconds)})`);
  }
  return { ttlSeconds };
}
