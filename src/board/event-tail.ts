import type { IncomingMessage, ServerResponse } from 'node:http';
import { Inject, Injectable, OnApplicationShutdown, OnModuleDestroy } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { EVENT_ID_PATTERN } from '@kernel/core';
import { EVENT_LOG, EventLog } from '../events/events.port';
import { BOARD_OPTIONS, BoardModuleOptions } from './board.port';
import { SECURITY_HEADERS } from './board-assets';
import { BoardReadModel } from './board-read-model';

/** How long one server-sent-events response lives at most: EventSource reconnects with Last-Event-ID (no event lost). */
const MAX_CONNECTION_MS = 25_000;
const HEARTBEAT_MS = 10_000;

/**
 * The live tail: server-sent events of the chosen shards' logs, polled through the events port every `tailIntervalMs`.
 * Starts at each log's end (or where `Last-Event-ID` says: the browser's reconnect resumes without a gap).
 * Each message: `id: <shard>=<entry id>,…` (every log's cursor), `data: {shard, label, id, type, at, data}`.
 */
@Injectable()
export class EventTail implements OnModuleDestroy, OnApplicationShutdown {
  private readonly open = new Set<() => void>();

  constructor(@Inject(BOARD_OPTIONS) private readonly options: BoardModuleOptions, private readonly moduleRef: ModuleRef,
    @Inject(BoardReadModel) private readonly model: BoardReadModel) {}

  private log(): EventLog | undefined {
    try {
      return this.moduleRef.get<EventLog>(EVENT_LOG, { strict: false });
    } catch {
      return undefined;
    }
  }

  /** `requested`: shard names (comma-separated) among those offered; none = all of them. */
  async serve(req: IncomingMessage, res: ServerResponse, requested: string | undefined): Promise<void> {
    const max = this.options.maxTails ?? 32;
    if (this.open.size >= max) {
      const body = { statusCode: 503, code: 'BOARD_TAIL_LIMIT', message: `${max} live tails are open on this instance: try again later` };
      res.writeHead(503, { ...SECURITY_HEADERS, 'Content-Type': 'application/json; charset=utf-8', 'Retry-After': '5' });
      res.end(JSON.stringify(body));
      return;
    }
    const log = this.log();
    const offered = log ? this.model.tailSources() : [];
    const labels = new Map(offered.map((s) => [s.shard, s.label]));
    const shards = requested ? [...new Set(requested.split(','))].filter((s) => labels.has(s)) : offered.map((s) => s.shard);
    const cursors = new Map<string, string | undefined>();
    const resume = parseCursors(req.headers['last-event-id']);
    for (const shard of shards) cursors.set(shard, resume.get(shard) ?? (await log!.infoShard(shard)).lastId ?? undefined);
    res.writeHead(200, {
      ...SECURITY_HEADERS, 'Content-Type': 'text/event-stream; charset=utf-8', Connection: 'keep-alive', 'X-Accel-Buffering': 'no',
    });
    res.write(`retry: 500\nevent: ready\ndata: ${JSON.stringify({ shards })}\n\n`);
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
    // The listener stopped accepting (a graceful shutdown began): end now, so a draining instance is not held by an
    // open page; the browser reconnects to another instance with Last-Event-ID.
    const server = (req.socket as { server?: { listening?: boolean } }).server;
    while (!closed && Date.now() < until) {
      if (server && server.listening === false) {
        res.write(`event: bye\ndata: ${JSON.stringify({ reason: 'draining' })}\n\n`);
        break;
      }
      for (const shard of shards) {
        if (closed) break;
        try {
          const page = await log!.readShard(shard, { after: cursors.get(shard), limit: 100 });
          for (const event of page.events) {
            cursors.set(shard, event.id);
            res.write(`id: ${formatCursors(cursors)}\ndata: ${JSON.stringify({ shard, label: labels.get(shard), ...event })}\n\n`);
          }
        } catch (err) {
          res.write(`event: failure\ndata: ${JSON.stringify({ shard, message: (err as Error).message })}\n\n`);
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
  return [...cursors].filter(([, id]) => id).map(([shard, id]) => `${shard}=${id}`).join(',');
}

function parseCursors(header: string | string[] | undefined): Map<string, string> {
  const value = Array.isArray(header) ? header[0] : header;
  const cursors = new Map<string, string>();
  for (const part of (value ?? '').split(',')) {
    const [shard, id] = part.split('=');
    if (shard && id && EVENT_ID_PATTERN.test(id)) cursors.set(shard, id);
  }
  return cursors;
}
