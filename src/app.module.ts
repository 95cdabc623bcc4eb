import { DynamicModule, Module } from '@nestjs/common';
import { RedisAtomicModule } from '../libs/redis-atomic/src';
import { AccountsModule } from './accounts/accounts.module';
import { AppConfig } from './config';
import { HEALTH_STRATEGY, HealthController } from './health/health.controller';

@Module({})
export class AppModule {
  static forRoot(config: AppConfig): DynamicModule {
    const redis = config.strategy === 'memory' ? [] : [RedisAtomicModule.forRoot(config.redis)];
    return {
      module: AppModule,
      imports: [
        ...redis,
        AccountsModule.forRoot({
          strategy: config.strategy,
          ledger: config.ledger,
          maxBatch: config.maxBatch,
          historyLimit: config.historyLimit,
        }),
      ],
      controllers: [HealthController],
      providers: [{ provide: HEALTH_STRATEGY, useValue: config.strategy }],
    };
  }
}
