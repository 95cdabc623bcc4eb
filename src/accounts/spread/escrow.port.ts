/**
 * The escrow store of a spread ledger: the per-shard steps of a cross-shard transfer (lua/escrow.lua documents each
 * one; the memory store simulates shards in process). Every step is idempotent per txid, and runs on ONE shard:
 * the coordinator (coordinator.ts) and the sweeper (sweeper.ts) chain them; neither needs to survive.
 */
export type TxState = 'PREPARING' | 'COMMITTED' | 'ABORTED';

export interface TxView {
  state: TxState;
  deadlineMs: number;
  finished: boolean;
  /** ABORTED: the reason, an error text `CODE {json}`. */
  reason: string;
  /** Finished COMMITTED: `<ms>,<from balance>,<to balance>,…` per item. */
  outcome: string;
  /** Shard indexes of the participants. */
  participants: number[];
}

/** One side of one transfer item on one account. */
export interface Leg {
  account: string;
  /** 0-based item index (batches). */
  index: number;
  /** The item's transfer id (history entries). */
  itemId: string;
  /** Signed: < 0 a debit, > 0 a credit. */
  amount: number;
  counterparty: string;
  /** Debits only: the request's minBalance. */
  floor?: number;
}

export interface PostedLegs {
  ms: number;
  legs: { index: number; role: 'o' | 'i'; balance: number }[];
}

export type Vote =
  | { kind: 'HELD' }
  | { kind: 'REFUSED'; index: number; rank: number; error: string }
  | { kind: 'VOIDED' }
  | { kind: 'POSTED'; posted: PostedLegs };

export type PostResult = { kind: 'POSTED'; posted: PostedLegs } | { kind: 'CONFLICT'; with: string } | { kind: 'MISSING' };
export type VoidResult = { kind: 'VOIDED' } | { kind: 'CONFLICT'; with: string };
export type DecidedBy = 'coordinator' | 'sweeper' | 'evidence';
export type Decision = { state: TxState | 'MISSING'; reason: string };
/** A participant's done marker: its final state (a refusal keeps its vote, the reason of the abort). */
export type Marker = { kind: 'POSTED' } | { kind: 'VOIDED' } | { kind: 'REFUSED'; index: number; rank: number; error: string } | null;

export interface EscrowStore {
  /** Number of shards (and of transaction buckets: bucket b lives on shard b). */
  readonly shards: number;
  begin(bucket: number, txid: string, fingerprint: string, participants: number[], timeoutMs: number, graceMs: number): Promise<TxView>;
  hold(shard: number, txid: string, deadlineMs: number, participants: number[], legs: Leg[]): Promise<Vote>;
  decide(bucket: number, txid: string, wanted: 'COMMITTED' | 'ABORTED', reason: string, by: DecidedBy, participants: number[],
    graceMs: number): Promise<Decision>;
  post(shard: number, txid: string): Promise<PostResult>;
  void(shard: number, txid: string): Promise<VoidResult>;
  finish(bucket: number, txid: string, outcome: string): Promise<'FINISHED' | 'MISSING' | 'PREPARING'>;
  tx(bucket: number, txid: string): Promise<TxView | null>;
  /** Txids whose sweep time has come, oldest first. */
  due(bucket: number, limit: number): Promise<string[]>;
  /** The participant's final state for the txid (the evidence rule reads it). */
  marker(shard: number, txid: string): Promise<Marker>;
  /** Violations of the shard's holds against these accounts' pending balances ([] = clean). No writes. */
  audit(shard: number, accounts: string[]): Promise<string[]>;
  /** Every open hold of the shard (txid → hold text): tests, the repair scan. */
  holds(shard: number): Promise<Map<string, string>>;
}

/** The participant shards a stored hold names (lua/escrow.lua: <deadline>|<participants>|…). */
export const holdParticipants = (hold: string): number[] => hold.split('|')[1].split(',').map(Number);
