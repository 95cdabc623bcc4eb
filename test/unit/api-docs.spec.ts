import { ApiAtomicRoute, routeErrorCodes } from '@kernel/nest/http';

/** The kernel's doc decorators: which codes a route documents, and that every code has a status. */
describe('ApiAtomicRoute', () => {
  const table = { ACCOUNT_NOT_FOUND: 404, INSUFFICIENT_FUNDS: 422 };
  const responses = [{ status: 200, description: 'ok' }];

  it('documents the kernel codes a route can answer: reads, writes (idempotency, conflicts, bodies), no store', () => {
    expect(routeErrorCodes({ summary: 'r', responses, statuses: table, codes: ['ACCOUNT_NOT_FOUND'] }))
      .toEqual(['VALIDATION_FAILED', 'ACCOUNT_NOT_FOUND', 'STORE_CORRUPTED', 'STORE_UNAVAILABLE', 'OUTCOME_UNKNOWN']);
    expect(routeErrorCodes({ summary: 'w', responses, statuses: table, codes: ['INSUFFICIENT_FUNDS'], write: true })).toEqual([
      'VALIDATION_FAILED', 'INSUFFICIENT_FUNDS', 'CONFLICT', 'IDEMPOTENCY_KEY_MISMATCH', 'IDEMPOTENCY_KEY_IN_PROGRESS',
      'STORE_CORRUPTED', 'STORE_UNAVAILABLE', 'OUTCOME_UNKNOWN', 'PAYLOAD_TOO_LARGE', 'UNSUPPORTED_MEDIA_TYPE',
    ]);
    expect(routeErrorCodes({ summary: 'h', responses, validates: false, store: false })).toEqual([]);
  });

  it('refuses a code that no table gives a status (a typo cannot reach the document)', () => {
    const loose: Record<string, number> = table;
    expect(() => ApiAtomicRoute({ summary: 'x', responses, statuses: loose, codes: ['NO_SUCH_CODE'] })).toThrow(/no status for NO_SUCH_CODE/);
    expect(() => ApiAtomicRoute({ summary: 'x', responses, statuses: table, codes: ['INSUFFICIENT_FUNDS'] })).not.toThrow();
  });
});
