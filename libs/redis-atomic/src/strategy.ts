import { Injectable, InjectionToken, Module, Provider } from '@nestjs/common';
import type Redis from 'ioredis';
import { FunctionLibraries, REDIS_ATOMIC_OPTIONS, REDIS_CLIENT, RedisAtomicOptions } from './redis-atomic.module';
import { WatchRunner } from './transactions';

/**
 * The scaffolding every domain module repeats to bind its port to the strategy chosen in its options (the
 * shape of AccountsModule's `createLedger`, extracted for Inventory and Orders): the strategy check, the
 * kernel injected *optionally* (the memory strategy runs without RedisAtomicModule) with one clear error when a
 * Redis strategy lacks it, and the memory strategy's per-app state.
 */

export type AtomicStrategy = 'functions' | 'transactions' | 'memory';
export const ATOMIC_STRATEGIES: readonly AtomicStrategy[] = ['functions', 'transactions', 'memory'];

/** What the Redis strategies use from RedisAtomicModule. */
export interface RedisKernel {
  client: Redis;
  watch: WatchRunner;
  libraries: FunctionLibraries;
  options: RedisAtomicOptions;
  /** `options.keyPrefix ?? 'ra'`. */
  keyPrefix: string;
}

/**
 * In-process state of the memory strategy, one instance per Nest application, keyed by name. Modules whose
 * Redis adapters share keys (Orders uses Inventory's stock) share a store here under the same name, so the
 * memory strategy shares state exactly where the Redis strategies do — and two apps never share anything.
 */
@Injectable()
export class MemoryStores {
  private readonly stores = new Map<string, unknown>();

  get<T>(name: string, create: () => T): T {
    if (!this.stores.has(name)) this.stores.set(name, create());
    return this.stores.get(name) as T;
  }
}

/** Static, so Nest creates it once per application however many modules import it. */
@Module({ providers: [MemoryStores], exports: [MemoryStores] })
export class MemoryStoresModule {}

export interface StrategyContext {
  memory: MemoryStores;
  /** The kernel, or an error saying the strategy needs RedisAtomicModule.forRoot(…). */
  redis(): RedisKernel;
}

/**
 * A provider of `provide` built by `create` from the module options (under `optionsToken`, which must carry
 * `strategy`). Import MemoryStoresModule in the module that uses it.
 */
export function strategyProvider<O extends { strategy: AtomicStrategy }>(
  provide: InjectionToken,
  optionsToken: InjectionToken,
  moduleName: string,
  create: (options: O, context: StrategyContext) => unknown,
): Provider {
  return {
    provide,
    useFactory: (options: O, memory: MemoryStores, client?: Redis, watch?: WatchRunner, libraries?: FunctionLibraries,
      redisOptions?: RedisAtomicOptions) => {
      if (!ATOMIC_STRATEGIES.includes(options.strategy)) {
        throw new Error(`Unknown strategy "${options.strategy as string}": use one of ${ATOMIC_STRATEGIES.join(', ')}`);
      }
      const redis = (): RedisKernel => {
        if (!client || !watch || !libraries || !redisOptions) {
          throw new Error(`${moduleName} strategy "${options.strategy}" needs RedisAtomicModule.forRoot(…) in the app`);
        }
        return { client, watch, libraries, options: redisOptions, keyPrefix: redisOptions.keyPrefix ?? 'ra' };
      };
      return create(options, { memory, redis });
    },
    inject: [optionsToken, MemoryStores,
      ...[REDIS_CLIENT, WatchRunner, FunctionLibraries, REDIS_ATOMIC_OPTIONS].map((token) => ({ token, optional: true }))],
  };
}
