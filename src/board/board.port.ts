/**
 * The operator board's own ports and options (a composition context: it reads the other contexts through their
 * ports — never their adapters — and adds no storage of its own).
 */
export const BOARD_OPTIONS = Symbol('BOARD_OPTIONS');
export const BOARD_HEALTH = Symbol('BOARD_HEALTH');
/** The metrics registry's samples (AtomicMetricsModule), as prom-client's getMetricsAsJSON gives them; null when metrics are off. */
export const BOARD_METRICS = Symbol('BOARD_METRICS');

export interface MetricSample {
  value: number;
  labels: Record<string, string | number>;
  metricName?: string;
}

export interface BoardMetrics {
  read(): Promise<{ name: string; values: MetricSample[] }[] | null>;
}

export interface BoardLedger {
  /** The name shown and used in routes (`/board/api/ledgers/<name>/…`); the service: its LEDGER. */
  name: string;
  /** The Nest token of its AccountsLedger port (default: the unnamed AccountsModule's). */
  port?: string | symbol;
  /** The events port's stream of its shard (default `ledger`). */
  stream?: string;
}

export interface BoardModuleOptions {
  /** Where the board is mounted. Default `/board`. */
  path?: string;
  /**
   * Actions that change state (void a pending transfer) need this token in the `X-Board-Token` header; without a
   * token configured the board is read-only (actions answer 403 BOARD_ACTIONS_DISABLED). At least 16 characters.
   */
  token?: string;
  /**
   * The ledgers shown and audited. Default: every ledger the (unnamed) AccountsModule serves — its default ledger,
   * its LEDGERS list and those used since start — each read through its directory (`Ledgers.shard(name)`) and its
   * shard's log. Set: exactly these (a port token and a named stream of the events port each).
   */
  ledgers?: BoardLedger[];
  /** Orders claimed (`processing`) longer than this are highlighted as stuck (a crashed worker). Default 60 s. */
  stuckAfterSeconds?: number;
  /** Products whose available stock is below this are listed. Default 10. */
  lowStockBelow?: number;
  /** The strategy shown under Health. */
  strategy?: string;
  /** How often the live tail polls each stream, in ms. Default 200. */
  tailIntervalMs?: number;
  /** Live tails open at once on this instance (each polls Redis); more answer 503 BOARD_TAIL_LIMIT. Default 32. */
  maxTails?: number;
}

export interface LibraryHealth {
  library: string;
  /** The version loaded on that node; null: not loaded there. */
  version: string | null;
  expected: string;
}

export interface RedisNodeHealth {
  /** `host:port`: the server, or a master owning slots. */
  node: string;
  /** It answered PING. */
  ok: boolean;
  /** Each Lua library the app uses, as loaded on this node. */
  libraries: LibraryHealth[];
  error?: string;
}

export interface BoardHealthReport {
  store: 'redis' | 'memory';
  /** Every master (one on a standalone Redis). */
  nodes: RedisNodeHealth[];
  error?: string;
}

/** Reads Redis' health for the board; the memory strategy has none (store: memory). */
export interface BoardHealth {
  check(): Promise<BoardHealthReport>;
}
