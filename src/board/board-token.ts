import { createHash, timingSafeEqual } from 'node:crypto';
import { AtomicError } from '@kernel/core';

export const BOARD_TOKEN_HEADER = 'x-board-token';

export const BOARD_ERROR_STATUS = {
  BOARD_TOKEN_REQUIRED: 401,
  BOARD_TOKEN_INVALID: 403,
  BOARD_ACTIONS_DISABLED: 403,
} as const;

/**
 * Actions need the configured token in `X-Board-Token`: none configured → 403 BOARD_ACTIONS_DISABLED; missing →
 * 401 BOARD_TOKEN_REQUIRED; wrong → 403 BOARD_TOKEN_INVALID. Compared in constant time (digests of equal length, so
 * neither the content nor the length of the token leaks through timing).
 */
export function checkBoardToken(configured: string | undefined, presented: string | string[] | undefined): void {
  if (!configured) throw new AtomicError('BOARD_ACTIONS_DISABLED', 'the board is read-only: no board token is configured');
  const value = Array.isArray(presented) ? presented[0] : presented;
  if (value === undefined || value === '') throw new AtomicError('BOARD_TOKEN_REQUIRED', `actions need the ${'X-Board-Token'} header`);
  const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();
  if (!timingSafeEqual(digest(value), digest(configured))) throw new AtomicError('BOARD_TOKEN_INVALID', 'wrong board token');
}
