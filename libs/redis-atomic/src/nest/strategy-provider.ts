import { InjectionToken, Module, Provider } from '@nestjs/common';
import { ATOMIC_OBSERVER, AtomicObserver, observePort } from '../core/observer';
import { ATOMIC_STRATEGIES, AtomicStrategy } from '../core/strategy';
import { MemoryStores } from '../memory/memory-stores';
import type { RedisClient } from '../redis/connection';
import { WatchRunner } from '../redis/transactions';
import { FunctionLibraries, REDIS_ATOMIC_OPTIONS, REDIS_CLIENT, RedisAtomicOptions } from './redis-atomic.module';

/**
 * Binds a port to the strategy chosen in a module's options: the strategy check, the kernel injected
 * *optionally* (the memory strategy runs without RedisAtomicModule and never creates a Redis client) with one
 * clear error when a Redis strategy lacks it, and the memory strategy's per-app state.
 */

/** What the Redis strategies use from RedisAtomicModule. */
export interface RedisKernel {
  /** One server (`Redis`) or a cluster (`Cluster`): use commands both have; every operation is single-slot. */
  client: RedisClient;
  watch: WatchRunner;
  libraries: FunctionLibraries;
  options: RedisAtomicOptions;
  /** `options.keyPrefix ?? 'ra'`. */
  keyPrefix: string;
}

/** Static, so Nest creates it once per application however many modules import it. */
@Module({ providers: [{ provide: MemoryStores, useFactory: () => new MemoryStores() }], exports: [MemoryStores] })
export class MemoryStoresModule {}

export interface StrategyContext {
  memory: MemoryStores;
  /** The kernel, or an error saying the strategy needs RedisAtomicModule.forRoot(…). */
  redis(): RedisKernel;
  /** The port with every method measured when metrics are on (AtomicMetricsModule); else the port itself. */
  observe<T extends object>(port: T): T;
}

/**
 * A provider of `provide` built by `create` from the module options (under `optionsToken`, which must carry
 * `strategy`). Import MemoryStoresModule in the module that uses it. `observed` (default true): the value is a
 * port, measured as a whole; false when `create` measures what it builds itself (context.observe, per shard).
 */
export function strategyProvider<O extends { strategy: AtomicStrategy }>(
  provide: InjectionToken,
  optionsToken: InjectionToken,
  moduleName: string,
  create: (options: O, context: StrategyContext) => unknown,
  instance?: string,
  observed = true,
): Provider {
  return {
    provide,
    useFactory: async (options: O, memory: MemoryStores, client?: RedisClient, watch?: WatchRunner, libraries?: FunctionLibraries,
      redisOptions?: RedisAtomicOptions, observer?: AtomicObserver) => {
      if (!ATOMIC_STRATEGIES.includes(options.strategy)) {
        throw new Error(`Unknown strategy "${options.strategy as string}": use one of ${ATOMIC_STRATEGIES.join(', ')}`);
      }
      const redis = (): RedisKernel => {
        if (!client || !watch || !libraries || !redisOptions) {
          throw new Error(`${moduleName} strategy "${options.strategy}" needs RedisAtomicModule.forRoot(…) in the app`);
        }
        return { client, watch, libraries, options: redisOptions, keyPrefix: redisOptions.keyPrefix ?? 'ra' };
      };
      // Metrics (opt-in: AtomicMetricsModule provides the observer): every method of every port, measured here.
      const labels = { module: moduleLabel(moduleName), instance: instance ?? 'default', strategy: options.strategy };
      const observe = <T extends object>(port: T): T => (observer ? observePort(port, labels, observer) : port);
      const value = await create(options, { memory, redis, observe });
      return observed && value !== null && typeof value === 'object' ? observe(value) : value;
    },
    inject: [optionsToken, MemoryStores,
      ...[REDIS_CLIENT, WatchRunner, FunctionLibraries, REDIS_ATOMIC_OPTIONS, ATOMIC_OBSERVER].map((token) => ({ token, optional: true }))],
  };
}

/** `AccountsModule` → `accounts`, `KvModule` → `kv`. */
const moduleLabel = (moduleName: string): string => moduleName.replace(/Module$/, '').replace(/^[A-Z]/, (c) => c.toLowerCase());
