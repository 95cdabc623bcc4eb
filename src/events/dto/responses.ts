import { EVENT_ID_PATTERN, MAX_EVENTS_PAGE } from '@kernel/core';
import { ApiField, ApiModels, schemaRef } from '@kernel/nest/http';

/** The success body of GET /events (documentation only). */
const entryId = { type: 'string', pattern: EVENT_ID_PATTERN.source };

export class EventResponse {
  @ApiField({ ...entryId, description: 'The stream entry id `<ms>-<seq>`: pass it as `after` to read on' }) id!: string;
  @ApiField({ type: 'string', description: 'e.g. `transfer.completed`' }) type!: string;
  @ApiField({ type: 'string', format: 'date-time', description: 'Server time of the commit' }) at!: string;
  @ApiField({ type: 'object', additionalProperties: true, description: 'The event, exact integers' }) data!: Record<string, unknown>;
}

@ApiModels(EventResponse)
export class EventsPageResponse {
  @ApiField({ type: 'array', items: schemaRef(EventResponse), maxItems: MAX_EVENTS_PAGE, description: 'Oldest first' }) events!: EventResponse[];
  @ApiField({ ...entryId, nullable: true, description: 'The `after` of the next page; null at the end of the stream' }) next!: string | null;
}
