/**
 * The ledger audit: recompute every balance from the ledger's event stream and compare it with the stored
 * balances (and Σ balances with Σ opening balances + deposits − withdrawals). Read-only. Reports the first
 * mismatch. A stream that no longer starts at the ledger's first write (trimmed by EVENTS_MAXLEN, or entries
 * deleted) cannot prove the balances: the audit says so (`unprovable`) instead of passing.
 */
export const LEDGER_AUDIT = Symbol('LEDGER_AUDIT');

export interface LedgerAudit {
  /** The ledgers this audit can check (their names as configured). */
  ledgers(): string[];
  /** VALIDATION_FAILED for an unknown ledger. */
  audit(ledger: string): Promise<AuditReport>;
}

/** consistent: every balance proven · mismatch: the stored state disagrees with the stream · unprovable: see `reason`. */
export type AuditVerdict = 'consistent' | 'mismatch' | 'unprovable';

export interface AuditReport {
  ledger: string;
  verdict: AuditVerdict;
  /** Why the audit could not prove the balances (stream trimmed, server too old to tell, ledger never quiet…). */
  reason?: string;
  /** Events replayed; the last one's id (the stream position the balances were proven at). */
  events: number;
  lastEventId: string | null;
  /** The stream: entries kept now and ever appended (added > length: trimmed). */
  stream: { length: number; added: number; firstId: string | null };
  /** Accounts opened in the stream (the audit's scope: an account written around the stream is not seen). */
  accounts: number;
  /** Accounts whose stored state differs from the replay. */
  mismatches: number;
  /**
   * The first of them in the order accounts were opened; when every stored account agrees, the first event that
   * contradicts the replay (a stated balance it does not reach, an account it never opened): `field: 'event'`.
   */
  firstMismatch?: AuditMismatch;
  totals: {
    /** Σ stored balances (of the accounts in scope). */
    stored: number;
    /** Σ opening balances + Σ deposits − Σ withdrawals, from the stream. */
    expected: number;
    opened: number;
    deposited: number;
    withdrawn: number;
    /** Σ of the stored pending debits / the replayed open reservations. */
    pendingStored: number;
    pendingExpected: number;
    /** false when the ledger kept changing during every attempt: the per-account check still ran (see `concurrent`). */
    checked: boolean;
  };
  /**
   * The ledger changed while the audit read it: each stored account was then compared with every state the stream
   * gave it between the audit's two reads of the stream (any of them proves it).
   */
  concurrent: boolean;
  startedAt: string;
  durationMs: number;
}

export interface AuditMismatch {
  account: string;
  /** `balance`, `pendingDebits`, `pendingCredits`, `floor`, `missing` (opened in the stream, not stored), or `event`. */
  field: string;
  stored: number | null;
  expected: number;
  /** The last event that changed the account (or the contradicting event, for `event`). */
  eventId: string | null;
}
