/**
 * In-process state of the memory strategy, one instance per Nest application, keyed by name. Modules whose
 * Redis adapters share keys (Orders uses Inventory's stock) share a store here under the same name, so the
 * memory strategy shares state exactly where the Redis strategies do — and two apps never share anything.
 */
export class MemoryStores {
  private readonly stores = new Map<string, unknown>();

  get<T>(name: string, create: () => T): T {
    if (!this.stores.has(name)) this.stores.set(name, create());
    return this.stores.get(name) as T;
  }
}
