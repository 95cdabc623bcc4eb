/**
 * The strict pipe's fast path must never accept what class-validator refuses: for every body DTO, random
 * bodies (valid, near-valid and hostile) are given to both; whenever the fast check says "valid", the full
 * class-validator pipe must accept the same body and hand the same data on.
 */
import fc from 'fast-check';
import { ValidationPipe } from '@nestjs/common';
import { IsEmail } from 'class-validator';
import { fastCheck, validationPipe } from '@kernel/nest/http';
import { AmountDto } from '../../src/accounts/dto/amount.dto';
import { OpenAccountDto } from '../../src/accounts/dto/open-account.dto';
import { PostTransferDto, TransferBatchDto, TransferDto } from '../../src/accounts/dto/transfer.dto';
import { KvTransactionDto } from '../../src/kv/dto/transaction.dto';
import { RestockDto, SetStockDto } from '../../src/shop/inventory/dto/stock.dto';
import { PlaceOrderDto } from '../../src/shop/orders/dto/place-order.dto';

/** The same options without the fast path: plain ValidationPipe. */
const fullPipe = new ValidationPipe({
  whitelist: true, forbidNonWhitelisted: true, forbidUnknownValues: true, transform: true, transformOptions: { enableImplicitConversion: false },
});
const full = (dto: Function, body: unknown) => fullPipe.transform(body, { type: 'body', metatype: dto as never })
  .then((v) => ({ ok: true as const, value: JSON.parse(JSON.stringify(v)) }), () => ({ ok: false as const }));

/** Mostly valid values (so accepted bodies are common), else near-misses and hostile ones. */
const id = fc.oneof({ arbitrary: fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/), weight: 8 }, fc.string({ maxLength: 3 }), fc.constant('a'.repeat(65)));
const int = fc.oneof({ arbitrary: fc.integer({ min: 1, max: 1000 }), weight: 8 }, fc.integer({ min: -5, max: 0 }), fc.constant(Number.MAX_SAFE_INTEGER),
  fc.constant(Number.MAX_SAFE_INTEGER + 2), fc.double(), fc.constant('10'), fc.constant(null));
const maybe = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined, freq: 3 });
const extra = fc.oneof({ arbitrary: fc.constant(undefined), weight: 8 }, fc.record({ note: fc.string() })); // mostly no unknown field
const withExtra = (a: fc.Arbitrary<Record<string, unknown>>) => fc.tuple(a, extra).map(([o, x]) => strip({ ...o, ...(x ?? {}) }));
const strip = (o: Record<string, unknown>) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
const bool = fc.oneof({ arbitrary: fc.boolean(), weight: 8 }, fc.constant('true'), fc.constant(1), fc.constant(null));
const transfer = withExtra(fc.record({ from: id, to: id, amount: int, minBalance: maybe(int), pending: maybe(bool), timeoutSeconds: maybe(int) }));
const line = withExtra(fc.record({ productId: id, quantity: int, unitPrice: int }));

const CASES: [string, Function, fc.Arbitrary<unknown>][] = [
  ['TransferDto', TransferDto, transfer],
  ['TransferBatchDto', TransferBatchDto, withExtra(fc.record({ transfers: fc.oneof({ arbitrary: fc.array(transfer, { maxLength: 3 }), weight: 8 }, fc.constant('x')) }))],
  ['PostTransferDto', PostTransferDto, withExtra(fc.record({ amount: maybe(int) }))],
  ['OpenAccountDto', OpenAccountDto, withExtra(fc.record({ id, balance: maybe(int), minBalance: maybe(int) }))],
  ['AmountDto', AmountDto, withExtra(fc.record({ amount: int }))],
  ['SetStockDto', SetStockDto, withExtra(fc.record({ stock: int }))],
  ['RestockDto', RestockDto, withExtra(fc.record({ quantity: int }))],
  ['PlaceOrderDto', PlaceOrderDto, withExtra(fc.record({ id: maybe(id), userId: id, items: fc.oneof({ arbitrary: fc.array(line, { maxLength: 3 }), weight: 8 }, fc.constant(null)) }))],
  ['KvTransactionDto', KvTransactionDto, withExtra(fc.record({ conditions: maybe(fc.array(fc.anything(), { maxLength: 2 })), updates: fc.oneof(fc.array(fc.anything(), { maxLength: 2 }), fc.string()) }))],
];

const hasPrototypeNamedKey = (value: unknown): boolean => value !== null && typeof value === 'object' &&
  Object.entries(value).some(([key, v]) => key in Object.prototype || key === 'prototype' || hasPrototypeNamedKey(v));

describe('the strict pipe\'s fast path', () => {
  it.each(CASES)('%s compiles to a fast check', (_, dto) => {
    expect(fastCheck(dto)).toBeDefined();
  });

  it.each(CASES)('%s: never accepts what class-validator refuses, and hands on the same data', async (_, dto, body) => {
    let fastAccepted = 0;
    await fc.assert(fc.asyncProperty(body, async (value) => {
      if (!fastCheck(dto)!(value)) return;
      fastAccepted++;
      const ours = validationPipe.transform(value, { type: 'custom', metatype: dto as never });
      if (hasPrototypeNamedKey(value)) {
        // Our pipe refuses prototype-named fields anywhere, before either path (class-validator lets them through).
        await expect(ours).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
        return;
      }
      expect(await full(dto, value)).toEqual({ ok: true, value: JSON.parse(JSON.stringify(value)) });
      await expect(ours).resolves.toBe(value);
    }), { numRuns: 400 });
    expect(fastAccepted).toBeGreaterThan(0); // the property was exercised on accepted bodies
  });

  it('gives no fast path to a DTO with a rule it does not know (the full pipe decides)', () => {
    class WithEmail {
      @IsEmail() email!: string;
    }
    expect(fastCheck(WithEmail)).toBeUndefined();
  });

  it('refuses in the full path with the exact class-validator messages', async () => {
    await expect(validationPipe.transform({ from: 'a', to: 'b', amount: '10' }, { type: 'custom', metatype: TransferDto }))
      .rejects.toMatchObject({ code: 'VALIDATION_FAILED', details: { errors: expect.arrayContaining(['amount must be an integer number']) } });
  });
});
