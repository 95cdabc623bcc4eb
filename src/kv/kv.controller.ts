import { Controller, Get, Headers, HttpCode, Inject, Param, Post } from '@nestjs/common';
import { ApiAtomicRoute, ApiGroup, ShardParam, ApiIdParam, ApiModels, AtomicBody, AtomicHttp, schemaRef, Replay, ReplayHeader } from '@kernel/nest/http';
import { KV_ERROR_DETAILS, KV_ERROR_STATUS } from './kv.errors';
import { KvHashEntryResponse, KvReceiptResponse, KvStringEntryResponse } from './dto/responses';
import { KvTransactionDto } from './dto/transaction.dto';
import { KvTransaction } from './kv.port';
import { KV_NAMESPACES, KvNamespaces } from './kv.tokens';

/** The `:namespace` of `/namespaces/:namespace/kv/…`. */
export const NAMESPACE_PARAM = 'The kv namespace: a shard of its own (one hash tag: one slot, one master on a cluster)';

const statuses = KV_ERROR_STATUS;
const details = KV_ERROR_DETAILS;

/**
 * The conditional store over HTTP, inside its own namespace only (every key becomes `…:{<namespace>}:kv:<id>`).
 * Keys, items and the Idempotency-Key header are checked by the port (ValidatedKv): bad ones are a 400 before
 * Redis is asked.
 */
@ApiGroup('kv')
@AtomicHttp(KV_ERROR_STATUS)
@Controller('kv')
export class KvController {
  constructor(@Inject(KV_NAMESPACES) private readonly namespaces: KvNamespaces) {}

  /** 200 {applied: true, updates}, or 409 CONDITION_FAILED {index, …}, 422 WRONG_TYPE / NOT_AN_INTEGER / INTEGER_OVERFLOW. */
  @Post('transactions')
  @HttpCode(200)
  @ApiAtomicRoute({
    summary: 'Write these keys only if those conditions hold', body: KvTransactionDto,
    description: 'Everything is checked before the first write: `CONDITION_FAILED` (the first failing condition\'s `index`), ' +
      '`WRONG_TYPE`, `NOT_AN_INTEGER` and `INTEGER_OVERFLOW` (`in`, `index`, `key`, `field`) leave the store unchanged.',
    responses: [{ status: 200, type: KvReceiptResponse, description: 'Every update applied' }],
    statuses, details, codes: ['CONDITION_FAILED', 'WRONG_TYPE', 'NOT_AN_INTEGER', 'INTEGER_OVERFLOW'], write: true,
  })
  async transaction(@ShardParam('namespace') namespace: string | undefined, @AtomicBody() body: KvTransactionDto, @Replay() replay: ReplayHeader, @Headers('idempotency-key') idempotencyKey?: string) {
    const tx = { updates: body.updates, ...(body.conditions !== undefined && { conditions: body.conditions }) };
    return replay(await this.namespaces.shard(namespace).transaction(tx as KvTransaction, { idempotencyKey }));
  }

  @Get(':key')
  @ApiIdParam('key')
  @ApiModels(KvStringEntryResponse, KvHashEntryResponse)
  @ApiAtomicRoute({
    summary: 'A key\'s value (and remaining TTL)',
    responses: [{ status: 200, schema: { oneOf: [schemaRef(KvStringEntryResponse), schemaRef(KvHashEntryResponse)] }, description: 'The value' }],
    statuses, details, codes: ['KEY_NOT_FOUND', 'WRONG_TYPE'],
  })
  get(@ShardParam('namespace') namespace: string | undefined, @Param('key') key: string) {
    return this.namespaces.shard(namespace).get(key);
  }
}

/** The same routes for any namespace: `/namespaces/:namespace/kv/…` (the plain ones serve the default namespace). */
@Controller('namespaces/:namespace/kv')
export class NamespaceKvController extends KvController {}
