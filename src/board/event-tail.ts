import type { IncomingMessage, ServerResponse } from 'node:http';
import { Inject, Injectable, OnApplicationShutdown, OnModuleDestroy } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { EVENT_ID_PATTERN } from '@kernel/core';
import { EVENT_LOG, EventLog } from '../events/events.port';
import { BOARD_OPTIONS, BoardModuleOptions } from './board.port';
import { SECURITY_HEADERS } from './board-assets';

/** How long one server-sent-events response lives: EventSource reconnects with Last-Event-ID (no event lost), and a draining instance is not held for long. */
const MAX_CONNECTION_MS = 25_000;
const HEARTBEAT_MS = 10_000;

/**
 * The live tail: server-sent events of the chosen streams, polled through the events port every `tailIntervalMs`.
 * Starts at each stream's end (or where `Last-Event-ID` says: the browser's reconnect resumes without a gap).
 * Each message: `id: <stream>=<entry id>,…` (every stream's cursor), `data: {stream, id, type, at, data}`.
 */
@Injectable()
export class EventTail implements OnModuleDestroy, OnApplicationShutdown {
  private readonly open = new Set<() => void>();

  constructor(@Inject(BOARD_OPTIONS) private readonly options: BoardModuleOptions, private readonly moduleRef: ModuleRef) {}

  /**
   * The streams offered: one name per shard (the service's ledger and shop may share one, `main`: its log holds both
   * modules' events); `label` names every stream name that reads it (`ledger/shop`).
   */
  streams(): { name: string; label: string }[] {
    const log = this.log();
    if (!log) return [];
    const all = this.options.streams ? this.options.streams.filter((s) => log.streams().includes(s)) : log.streams();
    const byShard = new Map<string, string[]>();
    for (const name of all) {
      const shard = log.shardOf(name) ?? name;
      byShard.set(shard, [...(byShard.get(shard) ?? []), name]);
    }
    return [...byShard.values()].map((names) => ({ name: names[0], label: names.join('/') }));
  }

  private log(): EventLog | undefined {
    try {
      return this.moduleRef.get<EventLog>(EVENT_LOG, { strict: false });
    } catch {
      return undefined;
    }
  }

  async serve(req: IncomingMessage, res: ServerResponse, requested: string | undefined): Promise<void> {
    const log = this.log();
    const offered = this.streams();
    const labels = new Map(offered.map((s) => [s.name, s.label]));
    const streams = requested ? [...new Set(requested.split(','))].filter((s) => labels.has(s)) : offered.map((s) => s.name);
    const cursors = new Map<string, string | undefined>();
    const resume = parseCursors(req.headers['last-event-id']);
    for (const stream of streams) cursors.set(stream, resume.get(stream) ?? (await log!.info(stream)).lastId ?? undefined);
    res.writeHead(200, {
      ...SECURITY_HEADERS, 'Content-Type': 'text/event-stream; charset=utf-8', Connection: 'keep-alive', 'X-Accel-Buffering': 'no',
    });
    res.write(`retry: 500\nevent: ready\ndata: ${JSON.stringify({ streams })}\n\n`);
    let closed = false;
    const close = () => {
      if (closed) return;
      closed = true;
      this.open.delete(close);
      res.end();
    };
    this.open.add(close);
    req.on('close', close);
    const until = Date.now() + MAX_CONNECTION_MS;
    let beat = Date.now();
    while (!closed && Date.now() < until) {
      for (const stream of streams) {
        if (closed) break;
        try {
          const page = await log!.read(stream, { after: cursors.get(stream), limit: 100 });
          for (const event of page.events) {
            cursors.set(stream, event.id);
            res.write(`id: ${formatCursors(cursors)}\ndata: ${JSON.stringify({ stream, label: labels.get(stream), ...event })}\n\n`);
          }
        } catch (err) {
          res.write(`event: failure\ndata: ${JSON.stringify({ stream, message: (err as Error).message })}\n\n`);
        }
      }
      if (Date.now() - beat > HEARTBEAT_MS) {
        res.write(': keep-alive\n\n');
        beat = Date.now();
      }
      await new Promise((resolve) => setTimeout(resolve, this.options.tailIntervalMs ?? 200));
    }
    close();
  }

  onModuleDestroy(): void {
    for (const close of [...this.open]) close();
  }

  onApplicationShutdown(): void {
    this.onModuleDestroy();
  }
}

function formatCursors(cursors: Map<string, string | undefined>): string {
  return [...cursors].filter(([, id]) => id).map(([stream, id]) => `${stream}=${id}`).join(',');
}

function parseCursors(header: string | string[] | undefined): Map<string, string> {
  const value = Array.isArray(header) ? header[0] : header;
  const cursors = new Map<string, string>();
  for (const part of (value ?? '').split(',')) {
    const [stream, id] = part.split('=');
    if (stream && id && EVENT_ID_PATTERN.test(id)) cursors.set(stream, id);
  }
  return cursors;
}
