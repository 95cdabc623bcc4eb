import 'reflect-metadata';
import { Body, Controller, Get, Module, Post } from '@nestjs/common';
import { AtomicBody, AtomicHttp } from '@kernel/nest/http';
import { TransferDto } from '../src/accounts/dto/transfer.dto';
import { AppModule } from '../src/app.module';
import { createApp } from '../src/bootstrap';
import { loadConfig } from '../src/config';
import { runWorkers, workerCount } from '../src/workers';

/**
 * The app under HTTP load, in its own process (started by bench/scenarios/http.ts with
 * `node -r ts-node/register/transpile-only -r tsconfig-paths/register bench/http-server.ts`), configured from the environment like
 * main.ts, plus one bench-only route: POST /bench/noop takes the same DTO through the same global
 * validation (@AtomicBody) and error filter and returns a constant receipt-shaped object without touching Redis;
 * GET /bench/cpu reports the process's CPU time.
 * Prints `LISTENING <port>` once ready; exits when its stdin closes (the bench ended or died) or on SIGTERM (Node's default action).
 */
const NOOP_RECEIPT = {
  id: '00000000-0000-4000-8000-000000000000',
  from: { id: 'a0', balance: 999_999_999_999 },
  to: { id: 'a1', balance: 1_000_000_000_001 },
  amount: 1,
  at: '2026-01-01T00:00:00.000Z',
};

@AtomicHttp()
@Controller('bench')
class NoopController {
  @Post('noop')
  noop(@AtomicBody() _body: TransferDto) {
    return NOOP_RECEIPT;
  }

  /** Diagnostic: the same without a DTO, so the validation pipe has nothing to validate or transform. */
  @Post('raw')
  raw(@Body() _body: unknown) {
    return NOOP_RECEIPT;
  }

  /** This process's CPU time (µs), read by the bench between segments. */
  @Get('cpu')
  cpu() {
    const { user, system } = process.cpuUsage();
    return { us: user + system };
  }
}

async function main(): Promise<void> {
  const config = loadConfig({ LOG_LEVEL: 'silent', ...process.env }); // no request lines: they would cost throughput

  @Module({ imports: [AppModule.forRoot(config)], controllers: [NoopController] })
  class BenchHttpModule {}

  const app = await createApp(config, { logger: false, root: BenchHttpModule });
  await app.listen(Number(process.env.BENCH_PORT ?? 0), '127.0.0.1');
  const address = app.getHttpServer().address();
  process.stdout.write(`LISTENING ${typeof address === 'object' && address ? address.port : address}\n`);
  const stop = () => void app.close().finally(() => process.exit(0));
  process.stdin.on('end', stop).on('error', stop).resume();
  setTimeout(stop, 10 * 60_000).unref(); // never outlive a bench run
}

// WORKERS=2 runs this file as the primary of two workers (src/workers.ts), like the service.
runWorkers(workerCount(loadConfig(process.env).workers), main, (err: unknown) => {
  console.error(err);
  process.exit(1);
});
