import type { IncomingMessage, ServerResponse } from 'node:http';
import { Controller, Get, Headers, HttpCode, Inject, NotFoundException, Param, Post, Query, Req, Res, Type } from '@nestjs/common';
import { ApiHidden, AtomicHttp, HttpResponse } from '@kernel/nest/http';
import { ACCOUNTS_ERROR_STATUS } from '../accounts/accounts.errors';
import { LEDGER_AUDIT, LedgerAudit } from '../accounts/audit/audit.port';
import { KV_ERROR_STATUS } from '../kv/kv.errors';
import { ORDERS_ERROR_STATUS } from '../shop/orders/orders.errors';
import { Asset, loadAssets, SECURITY_HEADERS } from './board-assets';
import { BoardReadModel } from './board-read-model';
import { BOARD_ERROR_STATUS, BOARD_TOKEN_HEADER, checkBoardToken } from './board-token';
import { BOARD_OPTIONS, BoardModuleOptions } from './board.port';
import { EventTail } from './event-tail';

type Raw = { raw?: unknown; hijack?: () => void };
const rawRequest = (req: unknown) => ((req as Raw).raw ?? req) as IncomingMessage;
const secure = (res: HttpResponse) => {
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.header(name, value);
};

/**
 * The board's routes under `path` (kept out of the public OpenAPI document: an operator's UI and its private JSON).
 * Reads answer without a token; actions need `X-Board-Token` (board-token.ts). Errors are the library's
 * `{statusCode, code, message, …}`.
 */
export function boardController(path: string): Type<unknown> {
  @ApiHidden()
  @AtomicHttp({ ...ACCOUNTS_ERROR_STATUS, ...ORDERS_ERROR_STATUS, ...KV_ERROR_STATUS, ...BOARD_ERROR_STATUS })
  @Controller(path)
  class BoardController {
    private readonly assets: Map<string, Asset> = loadAssets(path);

    constructor(
      @Inject(BOARD_OPTIONS) private readonly options: BoardModuleOptions,
      @Inject(BoardReadModel) private readonly model: BoardReadModel,
      @Inject(EventTail) private readonly tail: EventTail,
      @Inject(LEDGER_AUDIT) private readonly audit: LedgerAudit,
    ) {}

    @Get()
    page(@Res({ passthrough: true }) res: HttpResponse) {
      return this.asset(res, 'index.html');
    }

    @Get('assets/:file')
    file(@Param('file') file: string, @Res({ passthrough: true }) res: HttpResponse) {
      secure(res);
      if (!this.assets.has(file)) throw new NotFoundException();
      return this.asset(res, file);
    }

    private asset(res: HttpResponse, name: string): Buffer {
      const asset = this.assets.get(name)!;
      secure(res);
      res.header('Content-Type', asset.type);
      return asset.body;
    }

    @Get('api/overview')
    async overview(@Res({ passthrough: true }) res: HttpResponse) {
      secure(res);
      return {
        ledgers: await this.model.ledgers(), shops: this.model.shops(), namespaces: this.model.namespaces(), tail: this.model.tailSources(),
        actions: Boolean(this.options.token),
      };
    }

    @Get('api/health')
    async health(@Res({ passthrough: true }) res: HttpResponse) {
      secure(res);
      return this.model.healthReport();
    }

    @Get('api/metrics')
    async metrics(@Res({ passthrough: true }) res: HttpResponse) {
      secure(res);
      return this.model.operations();
    }

    @Get('api/shop')
    async shop(@Query('shop') shop: string | undefined, @Res({ passthrough: true }) res: HttpResponse) {
      secure(res);
      return this.model.shop(shop);
    }

    @Get('api/ledgers/:ledger/accounts')
    async accounts(@Param('ledger') ledger: string, @Res({ passthrough: true }) res: HttpResponse) {
      secure(res);
      return { ledger, accounts: await this.model.accounts(ledger) };
    }

    @Get('api/ledgers/:ledger/accounts/:id')
    async account(@Param('ledger') ledger: string, @Param('id') id: string, @Query('cursor') cursor: string | undefined,
      @Res({ passthrough: true }) res: HttpResponse) {
      secure(res);
      return this.model.account(ledger, id, cursor);
    }

    @Get('api/ledgers/:ledger/pending')
    async pending(@Param('ledger') ledger: string, @Res({ passthrough: true }) res: HttpResponse) {
      secure(res);
      return this.model.pending(ledger);
    }

    /** Read-only, but a full replay: one at a time per ledger (a second caller shares the running audit). */
    @Get('api/ledgers/:ledger/audit')
    async runAudit(@Param('ledger') ledger: string, @Res({ passthrough: true }) res: HttpResponse) {
      secure(res);
      return this.audit.audit(ledger);
    }

    @Get('api/kv/:key')
    async kv(@Param('key') key: string, @Query('namespace') namespace: string | undefined, @Res({ passthrough: true }) res: HttpResponse) {
      secure(res);
      return this.model.kv(key, namespace);
    }

    @Get('api/tail')
    async events(@Req() req: unknown, @Res() res: Raw, @Query('shards') shards?: string) {
      res.hijack?.(); // Fastify: the response is ours from here
      await this.tail.serve(rawRequest(req), ((res.raw ?? res) as ServerResponse), shards);
    }

    /** Whether a token is right (the page asks before showing actions): 204, or the token's 401/403. */
    @Post('api/session')
    @HttpCode(204)
    session(@Headers(BOARD_TOKEN_HEADER) token: string | undefined, @Res({ passthrough: true }) res: HttpResponse) {
      secure(res);
      checkBoardToken(this.options.token, token);
    }

    /** Voids a pending transfer through the ledger's port (idempotent: a second void is 409 PENDING_TRANSFER_ALREADY_VOIDED). */
    @Post('api/ledgers/:ledger/transfers/:id/void')
    @HttpCode(200)
    async voidTransfer(@Param('ledger') ledger: string, @Param('id') id: string, @Headers(BOARD_TOKEN_HEADER) token: string | undefined,
      @Headers('idempotency-key') idempotencyKey: string | undefined, @Res({ passthrough: true }) res: HttpResponse) {
      secure(res);
      checkBoardToken(this.options.token, token);
      return this.model.ledger(ledger).port.voidTransfer({ id }, { idempotencyKey });
    }

    /** Puts a claim its worker left back in the queue (Orders.requeue: processing → pending, first in line); 409 INVALID_TRANSITION otherwise. */
    @Post('api/shops/:shop/orders/:id/requeue')
    @HttpCode(200)
    async requeueOrder(@Param('shop') shop: string, @Param('id') id: string, @Headers(BOARD_TOKEN_HEADER) token: string | undefined,
      @Headers('idempotency-key') idempotencyKey: string | undefined, @Res({ passthrough: true }) res: HttpResponse) {
      secure(res);
      checkBoardToken(this.options.token, token);
      return this.model.orders(shop).requeue(id, { idempotencyKey });
    }
  }
  return BoardController;
}
