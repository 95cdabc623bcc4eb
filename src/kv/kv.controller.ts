import { Controller, Get, Headers, HttpCode, Inject, Param, Post } from '@nestjs/common';
import { AtomicBody, AtomicHttp } from '@kernel/nest/http';
import { KV_ERROR_STATUS } from './kv.errors';
import { KvTransactionDto } from './dto/transaction.dto';
import { ConditionalStore, KV_STORE, KvTransaction } from './kv.port';

/**
 * The conditional store over HTTP, inside its own namespace only (every key becomes `…:{<namespace>}:kv:<id>`).
 * Keys, items and the Idempotency-Key header are checked by the port (ValidatedKv): bad ones are a 400 before
 * Redis is asked.
 */
@AtomicHttp(KV_ERROR_STATUS)
@Controller('kv')
export class KvController {
  constructor(@Inject(KV_STORE) private readonly store: ConditionalStore) {}

  /** 200 {applied: true, updates}, or 409 CONDITION_FAILED {index, …}, 422 WRONG_TYPE / NOT_AN_INTEGER / INTEGER_OVERFLOW. */
  @Post('transactions')
  @HttpCode(200)
  transaction(@AtomicBody() body: KvTransactionDto, @Headers('idempotency-key') idempotencyKey?: string) {
    const tx = { updates: body.updates, ...(body.conditions !== undefined && { conditions: body.conditions }) };
    return this.store.transaction(tx as KvTransaction, { idempotencyKey });
  }

  @Get(':key')
  get(@Param('key') key: string) {
    return this.store.get(key);
  }
}
