import { Controller, Get, Inject, Query } from '@nestjs/common';
import { EVENT_ID_PATTERN, MAX_EVENTS_PAGE } from '@kernel/core';
import { ApiAtomicRoute, ApiGroup, ApiQueryParam, AtomicHttp } from '@kernel/nest/http';
import { EventsPageResponse } from './dto/responses';
import { EVENT_LOG, EventLog } from './events.port';

/**
 * GET /events?stream=ledger|shop|kv&after=<entry id>&limit=<1..1000>  →  { events: [{ id, type, at, data }], next }
 * `after` is exclusive; `next` is the `after` of the following page (null at the end of the stream).
 */
@ApiGroup('events')
@AtomicHttp()
@Controller('events')
export class EventsController {
  constructor(@Inject(EVENT_LOG) private readonly log: EventLog) {}

  @Get()
  @ApiQueryParam('stream', { type: 'string' }, { required: true, description: 'The name of a shard\'s log (the service: `ledger`, `shop`, `kv`)' })
  @ApiQueryParam('after', { type: 'string', pattern: EVENT_ID_PATTERN.source }, { description: 'An entry id, exclusive; absent = from the oldest kept' })
  @ApiQueryParam('limit', { type: 'integer', minimum: 1, maximum: MAX_EVENTS_PAGE, default: 100 })
  @ApiAtomicRoute({
    summary: 'A page of a shard\'s event log (transactional outbox), oldest first',
    responses: [{ status: 200, type: EventsPageResponse, description: 'One page' }],
  })
  read(@Query('stream') stream?: string, @Query('after') after?: string, @Query('limit') limit?: string) {
    return this.log.read(stream ?? '', {
      after,
      limit: limit === undefined ? undefined : /^\d{1,4}$/.test(limit) ? Number(limit) : NaN,
    });
  }
}
