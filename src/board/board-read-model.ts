import { Inject, Injectable } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { validationFailed } from '@kernel/core';
import { ACCOUNTS_LEDGER, AccountsLedger } from '../accounts/accounts.port';
import { LedgerEvent, LedgerReplay } from '../accounts/audit/ledger-replay';
import { EVENT_LOG, EventLog } from '../events/events.port';
import { KV_STORE, ConditionalStore } from '../kv/kv.port';
import { INVENTORY, Inventory } from '../shop/inventory/inventory.port';
import { ORDERS, Orders } from '../shop/orders/orders.port';
import { BOARD_HEALTH, BOARD_METRICS, BOARD_OPTIONS, BoardHealth, BoardLedger, BoardMetrics, BoardModuleOptions, MetricSample } from './board.port';

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

  constructor(private readonly log: EventLog, private readonly stream: string) {}

  refresh(): Promise<void> {
    this.update = this.update.catch(() => undefined).then(() => this.readOn());
    return this.update;
  }

  private async readOn(): Promise<void> {
    if (!this.started) {
      const info = await this.log.info(this.stream);
      this.complete = Number.isFinite(info.added) && info.added <= info.length;
      this.started = true;
    }
    for (let cursor = this.replay.lastEventId ?? undefined; ;) {
      const page = await this.log.read(this.stream, { after: cursor, limit: 1000 });
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
    const since = Date.now() - 60_000;
    while (this.times.length && this.times[0] < since) this.times.shift();
  }

  eventsLastMinute(): number {
    const since = Date.now() - 60_000;
    return this.times.filter((t) => t >= since).length;
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

  constructor(
    @Inject(BOARD_OPTIONS) private readonly options: Required<Pick<BoardModuleOptions, 'ledgers' | 'stuckAfterSeconds' | 'lowStockBelow'>> & BoardModuleOptions,
    private readonly moduleRef: ModuleRef,
    @Inject(BOARD_HEALTH) private readonly health: BoardHealth,
    @Inject(BOARD_METRICS) private readonly metrics: BoardMetrics,
  ) {}

  private port<T>(token: string | symbol): T | undefined {
    try {
      return this.moduleRef.get<T>(token, { strict: false });
    } catch {
      return undefined;
    }
  }

  ledger(name: string): { config: BoardLedger; port: AccountsLedger; projection: LedgerProjection } {
    const config = this.options.ledgers.find((l) => l.name === name);
    const port = config && this.port<AccountsLedger>(config.port ?? ACCOUNTS_LEDGER);
    const log = this.port<EventLog>(EVENT_LOG);
    if (!config || !port || !log) throw validationFailed(`ledger must be one of ${this.options.ledgers.map((l) => l.name).join(', ')}`, { field: 'ledger' });
    let projection = this.projections.get(name);
    if (!projection) this.projections.set(name, (projection = new LedgerProjection(log, config.stream ?? 'ledger')));
    return { config, port, projection };
  }

  async ledgers() {
    return Promise.all(this.options.ledgers.map(async ({ name }) => {
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

  async shop() {
    const orders = this.port<Orders>(ORDERS);
    const inventory = this.port<Inventory>(INVENTORY);
    const now = Date.now();
    const result: Record<string, unknown> = { stuckAfterSeconds: this.options.stuckAfterSeconds, lowStockBelow: this.options.lowStockBelow };
    if (orders) {
      const queue = await orders.queue();
      const describe = async (id: string) => {
        const order = await orders.get(id).catch(() => null);
        const ageSeconds = order ? Math.max(0, Math.round((now - Date.parse(order.createdAt)) / 1000)) : null;
        return { id, status: order?.status ?? 'unknown', userId: order?.userId ?? null, total: order?.total ?? null, createdAt: order?.createdAt ?? null,
          ageSeconds, stuck: order?.status === 'processing' && ageSeconds !== null && ageSeconds > this.options.stuckAfterSeconds };
      };
      result.orders = {
        pending: await Promise.all(queue.pending.slice(-100).reverse().map(describe)),
        processing: await Promise.all(queue.processing.slice(-100).reverse().map(describe)),
        counts: { pending: queue.pending.length, processing: queue.processing.length },
      };
    }
    if (inventory) {
      result.lowStock = await inventory.lowStock(this.options.lowStockBelow, 50);
      result.reservations = await inventory.listHeld(100);
    }
    return result;
  }

  kv(key: string) {
    const store = this.port<ConditionalStore>(KV_STORE);
    if (!store) throw validationFailed('no conditional store is mounted', { field: 'key' });
    return store.get(key);
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
