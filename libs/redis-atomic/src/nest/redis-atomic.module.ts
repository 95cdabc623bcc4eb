import { ConfigurableModuleBuilder, Global, Inject, Injectable, Module, OnApplicationShutdown, Optional } from '@nestjs/common';
import { ATOMIC_OBSERVER, AtomicObserver } from '../core/observer';
import { connectRedis, RedisClient, RedisConnectionOptions } from '../redis/connection';
import { FunctionLibrary } from '../redis/functions';
import { WatchOptions, WatchRunner } from '../redis/transactions';

export interface RedisAtomicOptions extends RedisConnectionOptions {
  /** First segment of every key, so several apps can share one Redis. Default `ra`. */
  keyPrefix?: string;
  /** Retry budget and pool size of WATCH transactions. */
  watch?: Partial<WatchOptions>;
  /** Folder of the Lua libraries. Default: the `lua/` folder of the installed package. */
  luaDir?: string;
  /**
   * Load the Lua libraries at start (FUNCTION LOAD REPLACE). Default true. Set false when the service's ACL
   * user may only FCALL: the start then verifies the loaded version instead.
   */
  loadFunctions?: boolean;
}

/**
 * The shared ioredis client (never used for WATCH: see WatchRunner): a `Redis`, or a `Cluster` when the options
 * name `cluster.nodes`. Inject it as `RedisClient` (= `Redis | Cluster`).
 */
export const REDIS_CLIENT = Symbol('REDIS_ATOMIC_CLIENT');

const { ConfigurableModuleClass, MODULE_OPTIONS_TOKEN } = new ConfigurableModuleBuilder<RedisAtomicOptions>()
  .setClassMethodName('forRoot')
  .build();

export const REDIS_ATOMIC_OPTIONS = MODULE_OPTIONS_TOKEN;

/** The Lua libraries of this app, one instance each, so health can report what is loaded. */
@Injectable()
export class FunctionLibraries {
  private readonly libraries = new Map<string, FunctionLibrary>();

  constructor(
    @Inject(REDIS_CLIENT) private readonly client: RedisClient,
    @Inject(REDIS_ATOMIC_OPTIONS) private readonly options: RedisAtomicOptions,
    @Optional() @Inject(ATOMIC_OBSERVER) private readonly observer?: AtomicObserver,
  ) {}

  get(name: string): FunctionLibrary {
    let library = this.libraries.get(name);
    if (!library) {
      library = FunctionLibrary.fromFile(this.client, name, this.options.luaDir);
      library.observer = this.observer;
      this.libraries.set(name, library);
    }
    return library;
  }

  all(): FunctionLibrary[] {
    return [...this.libraries.values()];
  }
}

/**
 * Global kernel module: one Redis connection (connected before the app starts, so a missing Redis is one
 * clear error), the WATCH runner and the Lua libraries. Closed on application shutdown.
 *
 *   RedisAtomicModule.forRoot({ url: 'redis://…' })
 *   RedisAtomicModule.forRoot({ cluster: { nodes: ['10.0.0.1:6379', '10.0.0.2:6379'] }, password, waitReplicas: 1 })
 *   RedisAtomicModule.forRootAsync({ inject: [ConfigService], useFactory: (c) => ({ url: c.get('REDIS_URL') }) })
 */
@Global()
@Module({
  providers: [
    { provide: REDIS_CLIENT, useFactory: connectRedis, inject: [REDIS_ATOMIC_OPTIONS] },
    {
      provide: WatchRunner,
      useFactory: (client: RedisClient, options: RedisAtomicOptions, observer?: AtomicObserver) => new WatchRunner(client, options.watch, observer),
      inject: [REDIS_CLIENT, REDIS_ATOMIC_OPTIONS, { token: ATOMIC_OBSERVER, optional: true }],
    },
    FunctionLibraries,
  ],
  exports: [REDIS_CLIENT, REDIS_ATOMIC_OPTIONS, WatchRunner, FunctionLibraries],
})
export class RedisAtomicModule extends ConfigurableModuleClass implements OnApplicationShutdown {
  constructor(
    @Inject(REDIS_CLIENT) private readonly client: RedisClient,
    private readonly watchRunner: WatchRunner,
  ) {
    super();
  }

  async onApplicationShutdown(): Promise<void> {
    this.watchRunner.close();
    await this.client.quit().catch(() => this.client.disconnect());
  }
}
