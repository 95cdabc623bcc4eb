import { Controller, Get, Inject, Query } from '@nestjs/common';
import { AtomicHttp } from '@kernel/nest/http';
import { EVENT_LOG, EventLog } from './events.port';

/**
 * GET /events?stream=ledger|shop|kv&after=<entry id>&limit=<1..1000>  →  { events: [{ id, type, at, data }], next }
 * `after` is exclusive; `next` is the `after` of the following page (null at the end of the stream).
 */
@AtomicHttp()
@Controller('events')
export class EventsController {
  constructor(@Inject(EVENT_LOG) private readonly log: EventLog) {}

  @Get()
  read(@Query('stream') stream?: string, @Query('after') after?: string, @Query('limit') limit?: string) {
    return this.log.read(stream ?? '', {
      after,
      limit: limit === undefined ? undefined : /^\d{1,4}$/.test(limit) ? Number(limit) : NaN,
    });
  }
}
