import { AtomicError, KernelErrorCode } from './errors';
import { assertId } from './keys';

/**
 * Every shard of one module instance, by name: the port of a ledger, a shop or a kv namespace. A shard is a
 * hash tag (one slot, one master on a cluster), so one service spreads its shards over a cluster's masters.
 *
 *   constructor(@InjectLedgers() private readonly ledgers: ShardDirectory<AccountsLedger>) {}
 *   await this.ledgers.shard('payroll').transfer({ from: 'a', to: 'b', amount: 100 });
 */
export interface ShardDirectory<P> {
  /** The shard served when none is named (the module's `ledger` / `shop` / `namespace` option). */
  readonly defaultShard: string;
  /**
   * The port of the shard named `name` (none: the default shard). Throws VALIDATION_FAILED for a name outside the
   * id pattern, SHARD_NOT_FOUND for one outside the module's `shards` list when it has one. Cheap: call it per request.
   */
  shard(name?: string): P;
  /** The shards this instance has served (recently, bounded) and the listed ones: what its sweepers visit. */
  served(): string[];
}

export interface ShardPortsOptions {
  /** The field named in errors (`ledger`, `shop`, `namespace`). */
  field: string;
  /** The only shards served besides the default; absent = every name matching the id pattern. */
  allowed?: readonly string[];
  /**
   * Ports kept at once; the least recently used is dropped beyond it (and built again when asked for). Only for
   * ports that hold no state of their own (Redis adapters); 0 = keep all (the memory strategy's ports *are* the data).
   */
  cacheSize?: number;
}

/** ShardDirectory over a factory: each shard's port is built on first use and kept (LRU-bounded when asked). */
export class ShardPorts<P> implements ShardDirectory<P> {
  private readonly ports = new Map<string, P>();
  private readonly allowed?: ReadonlySet<string>;

  constructor(readonly defaultShard: string, private readonly create: (shard: string) => P, private readonly options: ShardPortsOptions) {
    assertId(defaultShard, options.field);
    if (options.allowed) {
      for (const name of options.allowed) assertId(name, `${options.field} (in shards)`);
      this.allowed = new Set([defaultShard, ...options.allowed]);
    }
  }

  shard(name: string = this.defaultShard): P {
    let port = this.ports.get(name);
    if (port !== undefined) {
      if (this.options.cacheSize) { // most recently used last, so the first key is the one to drop
        this.ports.delete(name);
        this.ports.set(name, port);
      }
      return port;
    }
    assertId(name, this.options.field);
    if (this.allowed && !this.allowed.has(name)) {
      throw new AtomicError(KernelErrorCode.SHARD_NOT_FOUND, `${this.options.field} "${name}" is not served here`, { field: this.options.field });
    }
    port = this.create(name);
    this.ports.set(name, port);
    const cap = this.options.cacheSize ?? 0;
    if (cap > 0 && this.ports.size > cap) this.ports.delete(this.ports.keys().next().value as string);
    return port;
  }

  served(): string[] {
    return [...new Set([this.defaultShard, ...(this.allowed ?? []), ...this.ports.keys()])];
  }
}
