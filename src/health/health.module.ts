import { DynamicModule, Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { Drain } from './drain';
import { HEALTH_STRATEGY, HealthController } from './health.controller';

/** /health, /health/live, /health/ready and the draining state of a graceful shutdown. */
@Module({})
export class HealthModule {
  static forRoot(strategy: string): DynamicModule {
    return {
      module: HealthModule,
      // Terminus' own "Health Check has failed!" log is off: the request line (503, code NOT_READY) says it.
      imports: [TerminusModule.forRoot({ logger: false })],
      controllers: [HealthController],
      providers: [Drain, { provide: HEALTH_STRATEGY, useValue: strategy }],
      exports: [Drain],
    };
  }
}
