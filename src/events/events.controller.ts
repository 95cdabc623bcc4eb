import { Controller, Get, Inject, Query } from '@nestjs/common';
import { EVENT_ID_PATTERN, MAX_EVENTS_PAGE } from '@kernel/core';
import { ApiAtomicRoute, ApiGroup, ApiQueryParam, AtomicHttp, ShardParam } from '@kernel/nest/http';
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

/** GET <prefix>/events?after&limit: the log of the shard named in the path (any name; no module's `shards` list applies). */
function shardEventsController(path: string, field: string) {
  @ApiGroup('events')
  @AtomicHttp()
  @Controller(path)
  class ShardEventsController {
    constructor(@Inject(EVENT_LOG) readonly log: EventLog) {}

    @Get()
    @ApiQueryParam('after', { type: 'string', pattern: EVENT_ID_PATTERN.source }, { description: 'An entry id, exclusive; absent = from the oldest kept' })
    @ApiQueryParam('limit', { type: 'integer', minimum: 1, maximum: MAX_EVENTS_PAGE, default: 100 })
    @ApiAtomicRoute({
      summary: `A page of a ${field}'s event log (transactional outbox), oldest first`,
      responses: [{ status: 200, type: EventsPageResponse, description: 'One page (empty for a shard nothing was written to)' }],
    })
    read(@ShardParam(field) shard: string, @Query('after') after?: string, @Query('limit') limit?: string) {
      return this.log.readShard(shard, { after, limit: pageLimit(limit) }, field);
    }
  }
  return ShardEventsController;
}

const pageLimit = (limit?: string) => (limit === undefined ? undefined : /^\d{1,4}$/.test(limit) ? Number(limit) : NaN);

export class LedgerEventsController extends shardEventsController('ledgers/:ledger/events', 'ledger') {}
export class ShopEventsController extends shardEventsController('shops/:shop/events', 'shop') {}
export class NamespaceEventsController extends shardEventsController('namespaces/:namespace/events', 'namespace') {}
