import type { Server } from 'node:http';
import { Server as NetServer } from 'node:net';
import { Injectable, OnModuleInit, Optional } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance } from 'fastify';
import { Gauge } from 'prom-client';
import { AtomicMetrics } from '@kernel/nest';

import { SHUTTING_DOWN } from './shutting-down';

export { SHUTTING_DOWN };

/**
 * Graceful shutdown of the HTTP side. `drain()` (called by serve() on SIGTERM/SIGINT, before the app closes):
 * readiness turns false; the listener stops accepting connections; a request that still arrives on an open
 * connection gets 503 SHUTTING_DOWN; every answer from now on closes its connection; in-flight requests finish,
 * bounded by the grace period (then the remaining connections are cut); idle keep-alive connections are
 * closed. Only then does the app close its Redis connection (RedisAtomicModule's shutdown hook).
 *
 * Also marks each request with its route pattern for the request log line.
 */
@Injectable()
export class Drain implements OnModuleInit {
  private state: 'serving' | 'draining' = 'serving';
  private inFlight = 0;
  private readonly idle = new Set<() => void>();

  constructor(private readonly adapterHost: HttpAdapterHost, @Optional() private readonly metrics?: AtomicMetrics) {}

  get draining(): boolean {
    return this.state === 'draining';
  }

  onModuleInit(): void {
    const adapter = this.adapterHost.httpAdapter;
    if (adapter?.getType() !== 'fastify') return; // the service runs on Fastify; a host app on Express drains its own way
    const fastify = adapter.getInstance<FastifyInstance>();
    if (this.metrics) {
      const drain = this;
      new Gauge({
        name: 'redis_atomic_http_requests_in_flight', help: 'HTTP requests being handled (a scrape counts itself)',
        registers: [this.metrics.registry],
        collect(this: Gauge) {
          this.set(drain.inFlight);
        },
      });
      new Gauge({
        name: 'redis_atomic_http_draining', help: '1 once a shutdown signal was received (readiness false), else 0',
        registers: [this.metrics.registry],
        collect(this: Gauge) {
          this.set(drain.draining ? 1 : 0);
        },
      });
    }
    fastify.addHook('onRequest', (request, reply, done) => {
      (request.raw as { routePattern?: string }).routePattern = request.routeOptions.url;
      if (this.draining) {
        (reply.raw as { errorCode?: string }).errorCode = SHUTTING_DOWN.code;
        void reply.code(503).header('connection', 'close').send(SHUTTING_DOWN);
        return;
      }
      this.inFlight++;
      reply.raw.once('close', () => {
        if (--this.inFlight === 0) for (const resolve of this.idle) resolve();
      });
      done();
    });
    fastify.addHook('onSend', (_request, reply, payload, done) => {
      if (this.draining) void reply.header('connection', 'close');
      done(null, payload);
    });
  }

  /** Resolves when in-flight requests are done and every connection is closed, or after `graceMs` at most. */
  async drain(server: Server, graceMs: number): Promise<{ cut: boolean }> {
    this.state = 'draining';
    const closed = new Promise<void>((resolve) => {
      // net.Server#close: stop accepting and call back once every connection has ended. (http.Server#close would
      // also drop idle connections at once — including one whose request is on its way: we answer those instead.)
      if (!server.listening) return resolve();
      NetServer.prototype.close.call(server, () => resolve());
    });
    const idle = this.inFlight === 0 ? Promise.resolve() : new Promise<void>((resolve) => this.idle.add(resolve));
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<'cut'>((resolve) => (timer = setTimeout(() => resolve('cut'), graceMs)));
    try {
      if (await Promise.race([idle.then(() => 'idle' as const), grace]) === 'idle') {
        server.closeIdleConnections(); // keep-alive connections with nothing in flight
        if (await Promise.race([closed.then(() => 'closed' as const), grace]) === 'closed') return { cut: false };
      }
      server.closeAllConnections();
      await closed;
      return { cut: true };
    } finally {
      clearTimeout(timer);
    }
  }
}
