import { ConfigurableModuleBuilder, InjectionToken, Type } from '@nestjs/common';
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

export interface FeatureModuleRecipe<O> {
  moduleName: string;
  /** The injection token of the port of an instance (`undefined` = the unnamed instance). */
  token: (name?: string) => InjectionToken;
  /** Builds the port from the options (strategy switch; the strategy itself is checked before). */
  create: (options: O, context: StrategyContext) => unknown;
  controllers: Type[];
}

/**
 * One recipe for every feature module (Accounts, Inventory, Orders, kv): `forRoot` / `forRootAsync` with
 * useFactory / useClass / useExisting (ConfigurableModuleBuilder), named instances, `isGlobal`, and the
 * routes only where asked. Routes are static, so only one instance may mount them: a named instance with
 * `http: true` is refused rather than silently answering for the other.
 *
 *   const { ConfigurableModuleClass } = featureModule<AccountsModuleOptions>({ … });
 *   @Module({}) export class AccountsModule extends ConfigurableModuleClass {}
 */
export function featureModule<O extends { strategy: AtomicStrategy }>(recipe: FeatureModuleRecipe<O>) {
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
      return {
        ...definition,
        global: extras.isGlobal,
        imports: [...(definition.imports ?? []), MemoryStoresModule],
        providers: [
          ...(definition.providers ?? []),
          strategyProvider(token, optionsToken, recipe.moduleName, (options: O, context: StrategyContext) => {
            // Two instances under one token would silently shadow each other: refuse the second one.
            const created = context.memory.get('feature-module-instances', () => new Set<InjectionToken>());
            if (created.has(token)) {
              throw new Error(`${recipe.moduleName}: two instances ${extras.name === undefined ? 'without a name' : `named "${extras.name}"`} in one app; ` +
                'give each its own `name` (and inject it by that name)');
            }
            created.add(token);
            return recipe.create(options, context);
          }, extras.name),
        ],
        controllers: http ? recipe.controllers : [],
        exports: [token],
      };
    })
    .build();
}
