import { Inject, Injectable } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { validationFailed } from '@kernel/core';
import { ShardDirectory } from '@kernel/core';
import type { AccountsLedger } from '../accounts/accounts.port';
import type { AuditStream } from '../accounts/audit/ledger-audit';
import { LedgerEvent, LedgerReplay } from '../accounts/audit/ledger-replay';
import { EVENT_LOG, EventLog } from '../events/events.port';
import type { ConditionalStore } from '../kv/kv.port';
import { KV_NAMESPACES } from '../kv/kv.tokens';
import type { Inventory } from '../shop/inventory/inventory.port';
import { INVENTORY_SHOPS } from '../shop/inventory/inventory.tokens';
import type { Orders } from '../shop/orders/orders.port';
import { ORDERS_SHOPS } from '../shop/orders/orders.tokens';
import { BOARD_HEALTH, BOARD_METRICS, BOARD_OPTIONS, BoardHealth, BoardMetrics, BoardModuleOptions, MetricSample } from './board.port';
import { LedgerSources } from './ledger-audit.module';

const RECENT_PER_ACCOUNT = 20;

/** A ledger as its stream tells it, folded incrementally (LedgerReplay), plus each account's recent events. */
class LedgerProjection {
  readonly replay = new LedgerReplay();
  readonly recent = new Map<string, LedgerEvent[]>();
  /** Event times (ms) of the last minute, for the rate. */
  private readonly times: number[] = [];
  /** false: the stream no longer started at the ledger's first write when the board began reading it. */
  complete = true;
  private started = false;
  private update: Promise<void> = Promise.resolve();

  constructor(private readonly stream: AuditStream) {}

  refresh(): Promise<void> {
    this.update = this.update.catch(() => undefined).then(() => this.readOn());
    return this.update;
  }

  private async readOn(): Promise<void> {
    // Entries ever appended, before reading: every one of them must reach the fold, or some were trimmed unseen (the
    // stream trimmed before the board started, or faster than the board read it).
    const info = await this.stream.info();
    if (!this.started) {
      this.complete = Number.isFinite(info.added) && info.added <= info.length;
      this.started = true;
    }
    for (let cursor = this.replay.lastEventId ?? undefined; ;) {
      const page = await this.stream.read(cursor, 1000);
      for (const event of page.events) {
        this.replay.apply(event);
        this.times.push(Number(event.id.split('-')[0]));
        for (const account of accountsOf(event)) {
          const list = this.recent.get(account) ?? [];
          list.push(event);
          if (list.length > RECENT_PER_ACCOUNT) list.shift();
          this.recent.set(account, list);
        }
      }
      if (!page.next) break;
      cursor = page.next;
    }
    if (this.replay.events < info.added) this.complete = false;
    const since = Date.now() - 60_000;
    while (this.times.length && this.times[0] < since) this.times.shift();
  }

  eventsLastMinute(): number {
    const since = Date.now() - 60_000;
    return this.times.filter((t) => t >= since).length;
  }
}

/**
 * When each order still in `processing` was claimed, from the shop's log (`order.claimed`; `order.completed`,
 * `order.cancelled` and `order.requeued` end a claim): the order itself records only when it was placed.
 */
class ClaimTimes {
  private readonly claimed = new Map<string, number>();
  private cursor?: string;
  private update: Promise<void> = Promise.resolve();

  constructor(private readonly log: EventLog, private readonly shop: string) {}

  refresh(): Promise<void> {
    this.update = this.update.catch(() => undefined).then(async () => {
      for (;;) {
        const page = await this.log.readShard(this.shop, { after: this.cursor, limit: 1000 }, 'shop');
        for (const event of page.events) {
          this.cursor = event.id;
          const orderId = event.data?.orderId;
          if (typeof orderId !== 'string') continue;
          if (event.type === 'order.claimed') this.claimed.set(orderId, Number(event.id.split('-')[0]));
          else if (event.type === 'order.completed' || event.type === 'order.cancelled' || event.type === 'order.requeued') this.claimed.delete(orderId);
        }
        if (!page.next) return;
      }
    });
    return this.update;
  }

  at(orderId: string): number | undefined {
    return this.claimed.get(orderId);
  }
}

function accountsOf(event: LedgerEvent): string[] {
  const d = event.data ?? {};
  const ids = event.type === 'transfer.batch_completed' && Array.isArray(d.transfers)
    ? (d.transfers as Record<string, unknown>[]).flatMap((t) => [t.from, t.to])
    : [d.account, d.from, d.to];
  return [...new Set(ids.filter((v): v is string => typeof v === 'string'))];
}

/**
 * The board's read side: every value comes from a port (AccountsLedger, Orders, Inventory, ConditionalStore, the
 * events port) or the metrics registry, looked up in the whole app so the board mounts beside whatever modules a
 * host app has (a missing one: its panel says so).
 */
@Injectable()
export class BoardReadModel {
  private readonly projections = new Map<string, LedgerProjection>();
  private readonly claims = new Map<string, ClaimTimes>();
  private readonly sources: LedgerSources;

  constructor(
    @Inject(BOARD_OPTIONS) private readonly options: Required<Pick<BoardModuleOptions, 'stuckAfterSeconds' | 'lowStockBelow'>> & BoardModuleOptions,
    private readonly moduleRef: ModuleRef,
    @Inject(BOARD_HEALTH) private readonly health: BoardHealth,
    @Inject(BOARD_METRICS) private readonly metrics: BoardMetrics,
  ) {
    this.sources = new LedgerSources(moduleRef, options.ledgers);
  }

  private lookup<T>(token: string | symbol): T | undefined {
    try {
      return this.moduleRef.get<T>(token, { strict: false });
    } catch {
      return undefined;
    }
  }

  ledger(name: string): { port: AccountsLedger; projection: LedgerProjection } {
    const source = this.sources.get(name);
    let projection = this.projections.get(name);
    if (!projection) this.projections.set(name, (projection = new LedgerProjection(source.stream)));
    return { port: source.port, projection };
  }

  /** The shops shown: every shop the Orders (and Inventory) directories serve. */
  shops(): string[] {
    const orders = this.lookup<ShardDirectory<Orders>>(ORDERS_SHOPS);
    const inventory = this.lookup<ShardDirectory<Inventory>>(INVENTORY_SHOPS);
    return [...new Set([...(orders?.served() ?? []), ...(inventory?.served() ?? [])])];
  }

  namespaces(): string[] {
    return this.lookup<ShardDirectory<ConditionalStore>>(KV_NAMESPACES)?.served() ?? [];
  }

  async ledgers() {
    return Promise.all(this.sources.names().map(async (name) => {
      try {
        const { projection } = this.ledger(name);
        await projection.refresh();
        const { replay } = projection;
        const sums = replay.sums();
        return {
          name, accounts: replay.accounts.size, totalPosted: Number(sums.balances), totalPending: Number(sums.pending),
          openPending: replay.reservations.size, events: replay.events, eventsLastMinute: projection.eventsLastMinute(),
          lastEventId: replay.lastEventId, complete: projection.complete,
        };
      } catch (err) {
        return { name, error: (err as Error).message };
      }
    }));
  }

  async accounts(name: string) {
    const { projection } = this.ledger(name);
    await projection.refresh();
    return [...projection.replay.accounts].map(([id, a]) => ({ id, balance: a.balance, pendingDebits: a.pendingDebits,
      pendingCredits: a.pendingCredits, lastEventId: a.eventId }));
  }

  async account(name: string, id: string, cursor?: string) {
    const { port, projection } = this.ledger(name);
    const [account, history] = await Promise.all([port.get(id), port.history(id, { limit: 20, cursor: cursor || undefined })]);
    await projection.refresh();
    return { ledger: name, account, history, events: [...(projection.recent.get(id) ?? [])].reverse() };
  }

  async pending(name: string) {
    const { port } = this.ledger(name);
    return { ledger: name, transfers: await port.listPending(100) };
  }

  /** A shop's orders queue (with ages, stuck claims flagged), low stock and held reservations. SHARD_NOT_FOUND / VALIDATION_FAILED (`shop`). */
  async shop(name?: string) {
    const shops = this.shops();
    if (name && !shops.includes(name)) throw validationFailed(`shop must be one of ${shops.join(', ')}`, { field: 'shop' });
    const shop = name || shops[0];
    const orders = this.lookup<ShardDirectory<Orders>>(ORDERS_SHOPS)?.shard(shop);
    const inventory = this.lookup<ShardDirectory<Inventory>>(INVENTORY_SHOPS)?.shard(shop);
    const now = Date.now();
    const result: Record<string, unknown> = { shop: shop ?? null, stuckAfterSeconds: this.options.stuckAfterSeconds, lowStockBelow: this.options.lowStockBelow };
    if (orders) {
      const queue = await orders.queue();
      const log = this.lookup<EventLog>(EVENT_LOG);
      let claims: ClaimTimes | undefined;
      if (log && shop) {
        claims = this.claims.get(shop);
        if (!claims) this.claims.set(shop, (claims = new ClaimTimes(log, shop)));
        await claims.refresh().catch(() => undefined); // without the log: ages since placement only
      }
      const seconds = (ms: number) => Math.max(0, Math.round((now - ms) / 1000));
      const describe = async (id: string) => {
        const order = await orders.get(id).catch(() => null);
        const ageSeconds = order ? seconds(Date.parse(order.createdAt)) : null;
        const claimedMs = order?.status === 'processing' ? claims?.at(id) : undefined;
        // In processing since its claim (from the log); when the claim is no longer in the log (trimmed), since placement.
        const processingSeconds = claimedMs !== undefined ? seconds(claimedMs) : order?.status === 'processing' ? ageSeconds : null;
        return {
          id, status: order?.status ?? 'unknown', userId: order?.userId ?? null, total: order?.total ?? null, createdAt: order?.createdAt ?? null,
          ageSeconds, ...(claimedMs !== undefined && { claimedAt: new Date(claimedMs).toISOString() }), processingSeconds,
          stuck: processingSeconds !== null && processingSeconds > this.options.stuckAfterSeconds,
        };
      };
      // Oldest first (the queue's order): the claims most likely stuck, the orders claimed next.
      result.orders = {
        pending: await Promise.all(queue.pending.slice(0, 100).map(describe)),
        processing: await Promise.all(queue.processing.slice(0, 100).map(describe)),
        counts: { pending: queue.pending.length, processing: queue.processing.length },
      };
    }
    if (inventory) {
      result.lowStock = await inventory.lowStock(this.options.lowStockBelow, 50);
      result.reservations = await inventory.listHeld(100);
    }
    return result;
  }

  /** A shop's Orders port (for the requeue action); VALIDATION_FAILED (`shop`) for a shop not shown here. */
  orders(shop: string): Orders {
    const shops = this.shops();
    const directory = this.lookup<ShardDirectory<Orders>>(ORDERS_SHOPS);
    if (!directory || !shops.includes(shop)) throw validationFailed(`shop must be one of ${shops.join(', ')}`, { field: 'shop' });
    return directory.shard(shop);
  }

  kv(key: string, namespace?: string) {
    const stores = this.lookup<ShardDirectory<ConditionalStore>>(KV_NAMESPACES);
    if (!stores) throw validationFailed('no conditional store is mounted', { field: 'namespace' });
    if (namespace && !stores.served().includes(namespace)) throw validationFailed(`namespace must be one of ${stores.served().join(', ')}`, { field: 'namespace' });
    return stores.shard(namespace || undefined).get(key);
  }

  /**
   * The event logs the live tail offers: one per shard (hash tag) of the ledgers, shops and kv namespaces shown — the
   * service's ledger and shop share `main`, so its one log holds both modules' events; `label` names what it holds.
   */
  tailSources(): { shard: string; label: string }[] {
    const labels = new Map<string, string[]>();
    const add = (kind: string, names: string[]) => {
      for (const name of names) labels.set(name, [...(labels.get(name) ?? []), `${kind} ${name}`]);
    };
    add('ledger', this.sources.names());
    add('shop', this.shops());
    add('kv', this.namespaces());
    return [...labels].map(([shard, kinds]) => ({ shard, label: kinds.join(' · ') }));
  }

  async healthReport() {
    return { strategy: this.options.strategy ?? null, ...(await this.health.check()) };
  }

  /** The same counters as /metrics: operations by outcome, latency sums and counts (the page computes rates from two reads). */
  async operations() {
    const all = await this.metrics.read();
    if (!all) return { enabled: false, at: Date.now(), operations: [], latency: [] };
    // Lifecycle hooks the generic port wrapper also measures (onApplicationBootstrap…) are not operations.
    const values = (name: string): MetricSample[] => (all.find((m) => m.name === name)?.values ?? []).filter((v) => !/^on[A-Z]/.test(String(v.labels.operation)));
    return {
      enabled: true,
      at: Date.now(),
      operations: values('redis_atomic_operations_total').map((v) => ({ ...v.labels, count: v.value })),
      latency: values('redis_atomic_operation_duration_seconds').filter((v) => v.metricName?.endsWith('_sum') || v.metricName?.endsWith('_count'))
        .map((v) => ({ ...v.labels, [v.metricName!.endsWith('_sum') ? 'sum' : 'count']: v.value })),
    };
  }
}
