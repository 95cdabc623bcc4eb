import { ConfigurableModuleBuilder, InjectionToken, Type } from '@nestjs/common';
import { ShardDirectory, ShardPorts } from '../core/shards';
import type { AtomicStrategy } from '../core/strategy';
import { MemoryStoresModule, StrategyContext, strategyProvider } from './strategy-provider';

/** What every feature module takes besides its own options (`forRoot` and `forRootAsync` alike). */
export interface FeatureModuleExtras {
  /**
   * A named instance, in the style of `@nestjs/bullmq`'s queues: its port is provided under the module's token
   * for that name (`getLedgerToken('payroll')`, `@InjectLedger('payroll')`). Unnamed: the default token.
   */
  name?: string;
  /** Mount the module's HTTP routes. Default: true for the unnamed instance, false for named ones. */
  http?: boolean;
  /** Export the port app-wide. Default false. */
  isGlobal?: boolean;
}

/** What a module's `create` returns: how to build any shard's port, and what runs in the background over them. */
export interface ShardFactory<P> {
  /** The shard served when none is named (the `ledger` / `shop` / `namespace` option). */
  defaultShard: string;
  /** One shard's port, validation gate included; called on a shard's first use (again after an LRU drop if `stateless`). */
  shard: (name: string) => P;
  /** The ports hold no data of their own (Redis adapters): the directory may drop and rebuild them. */
  stateless: boolean;
  /** Work over the directory's shards (sweepers): started on application bootstrap, stopped on module destroy. */
  background?: (shards: ShardDirectory<P>) => { start(): void; stop(): Promise<void> };
}

/** Every feature module's options carry the strategy and may restrict the shards served. */
export interface ShardedOptions {
  strategy: AtomicStrategy;
  /**
   * The only shards served besides the default (SHARD_NOT_FOUND for others); absent = any name matching the id
   * pattern. The listed ones are swept in the background even before this instance serves them.
   */
  shards?: readonly string[];
}

export interface FeatureModuleRecipe<O, P> {
  moduleName: string;
  /** Shard names in errors and routes: `ledger`, `shop`, `namespace`. */
  shardField: string;
  /** The injection token of the port of an instance's default shard (`undefined` = the unnamed instance). */
  token: (name?: string) => InjectionToken;
  /** The injection token of an instance's ShardDirectory (every shard by name). */
  directoryToken: (name?: string) => InjectionToken;
  /** Checks the options and prepares what every shard shares (strategy switch; the strategy itself is checked before). */
  create: (options: O, context: StrategyContext) => Promise<ShardFactory<P>>;
  controllers: Type[];
}

/** Most recently used Redis shard ports kept per instance (they are cheap to rebuild: keys and a library handle). */
const SHARD_CACHE = 1024;

/**
 * One recipe for every feature module (Accounts, Inventory, Orders, kv): `forRoot` / `forRootAsync` with
 * useFactory / useClass / useExisting (ConfigurableModuleBuilder), named instances, `isGlobal`, and the
 * routes only where asked. Routes are static, so only one instance may mount them: a named instance with
 * `http: true` is refused rather than silently answering for the other.
 *
 *   const { ConfigurableModuleClass } = featureModule<AccountsModuleOptions>({ … });
 *   @Module({}) export class AccountsModule extends ConfigurableModuleClass {}
 */
export function featureModule<O extends ShardedOptions, P extends object>(recipe: FeatureModuleRecipe<O, P>) {
  const optionsToken = Symbol(`${recipe.moduleName} options`);
  return new ConfigurableModuleBuilder<O>({ moduleName: recipe.moduleName, optionsInjectionToken: optionsToken })
    .setClassMethodName('forRoot')
    .setExtras<FeatureModuleExtras>({ name: undefined, http: undefined, isGlobal: false }, (definition, extras) => {
      const http = extras.http ?? extras.name === undefined;
      if (http && extras.name !== undefined) {
        throw new Error(`${recipe.moduleName} "${extras.name}": a named instance cannot mount the HTTP routes (http: false); ` +
          'the unnamed instance serves them');
      }
      const token = recipe.token(extras.name);
      const directoryToken = recipe.directoryToken(extras.name);
      return {
        ...definition,
        global: extras.isGlobal,
        imports: [...(definition.imports ?? []), MemoryStoresModule],
        providers: [
          ...(definition.providers ?? []),
          strategyProvider(directoryToken, optionsToken, recipe.moduleName, async (options: O, context: StrategyContext) => {
            // Two instances under one token would silently shadow each other: refuse the second one.
            const created = context.memory.get('feature-module-instances', () => new Set<InjectionToken>());
            if (created.has(token)) {
              throw new Error(`${recipe.moduleName}: two instances ${extras.name === undefined ? 'without a name' : `named "${extras.name}"`} in one app; ` +
                'give each its own `name` (and inject it by that name)');
            }
            created.add(token);
            const factory = await recipe.create(options, context);
            const directory = new ShardPorts<P>(factory.defaultShard, (shard) => context.observe(factory.shard(shard)), {
              field: recipe.shardField, allowed: options.shards, cacheSize: factory.stateless ? SHARD_CACHE : 0,
            });
            directory.shard(); // the default shard is built (and its name checked) at start
            const background = factory.background?.(directory);
            // Nest calls these hooks on provider values that have them: the sweepers live as long as the module.
            return Object.assign(directory, {
              onApplicationBootstrap: () => background?.start(),
              onModuleDestroy: () => background?.stop(),
            });
          }, extras.name, false),
          { provide: token, useFactory: (directory: ShardDirectory<P>) => directory.shard(), inject: [directoryToken] },
        ],
        controllers: http ? recipe.controllers : [],
        exports: [token, directoryToken],
      };
    })
    .build();
}
