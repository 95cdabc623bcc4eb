/**
 * redis-atomic — the package's main entry point (`import { … } from 'redis-atomic'`).
 * Testing helpers are in `redis-atomic/testing`; the Lua sources in `redis-atomic/lua/*`.
 */

// The kernel: RedisAtomicModule, AtomicError and its codes, the WATCH runner (optimistic transactions for
// your own keys), strategies, key spaces, idempotency, event logs, and the HTTP pieces modules use.
export * from '@kernel/core';
export * from '@kernel/memory';
export * from '@kernel/nest';
export * from '@kernel/redis';

// Accounts: a ledger of integer balances (minor units) with floors, transfers, batches and history.
export { AccountsModule } from './accounts/accounts.module';
export type { AccountsModuleAsyncOptions, AccountsModuleForRootOptions, AccountsModuleOptions } from './accounts/accounts.module';
export { ACCOUNTS_LEDGER } from './accounts/accounts.port';
export type {
  Account, AccountsErrorCode, AccountsLedger, Balance, HistoryEntry, HistoryKind, HistoryPage, HistoryQuery, Movement, OpenAccount,
  PendingStatus, PendingTransfer, PostPending, SweepResult as PendingSweepResult, Transfer, TransferReceipt, VoidPending, WriteOptions,
} from './accounts/accounts.port';
export { ACCOUNTS_LEDGERS, getLedgersToken, getLedgerToken, InjectLedger, InjectLedgers } from './accounts/accounts.tokens';
export type { Ledgers } from './accounts/accounts.tokens';
export { ACCOUNTS_ERROR_STATUS } from './accounts/accounts.errors';

// Shop: stock (Inventory) and orders that take it in the same atomic step (one shop = one hash tag).
export { InventoryModule } from './shop/inventory/inventory.module';
export type { InventoryModuleAsyncOptions, InventoryModuleForRootOptions, InventoryModuleOptions } from './shop/inventory/inventory.module';
export { INVENTORY } from './shop/inventory/inventory.port';
export type {
  Availability, Inventory, InventoryErrorCode, Reservation, ReservationStatus, StockLevel, SweepResult as ReservationSweepResult,
} from './shop/inventory/inventory.port';
export type { ReservationSweepOptions } from './shop/inventory/reservation-sweeper';
export { getInventoryShopsToken, getInventoryToken, InjectInventory, InjectInventoryShops, INVENTORY_SHOPS } from './shop/inventory/inventory.tokens';
export type { InventoryShops } from './shop/inventory/inventory.tokens';
export { INVENTORY_ERROR_STATUS } from './shop/inventory/inventory.errors';
export { OrdersModule } from './shop/orders/orders.module';
export type { OrdersModuleAsyncOptions, OrdersModuleForRootOptions, OrdersModuleOptions } from './shop/orders/orders.module';
export { ORDERS } from './shop/orders/orders.port';
export type {
  Order, OrderLine, OrderQueue, Orders, OrdersErrorCode, OrderStatus, PlaceOrder, PlaceOrderLine, UserStats,
} from './shop/orders/orders.port';
export { getOrdersShopsToken, getOrdersToken, InjectOrders, InjectOrdersShops, ORDERS_SHOPS } from './shop/orders/orders.tokens';
export type { OrdersShops } from './shop/orders/orders.tokens';
export { ORDERS_ERROR_STATUS } from './shop/orders/orders.errors';

// kv: a conditional multi-key store (compare-and-set over several keys in one step).
export { KvModule } from './kv/kv.module';
export type { KvModuleAsyncOptions, KvModuleForRootOptions, KvModuleOptions } from './kv/kv.module';
export { KV_STORE } from './kv/kv.port';
export type { ConditionalStore, KvCondition, KvEntry, KvErrorCode, KvReceipt, KvTransaction, KvUpdate } from './kv/kv.port';
export { getKvNamespacesToken, getKvStoreToken, InjectKvNamespaces, InjectKvStore, KV_NAMESPACES } from './kv/kv.tokens';
export type { KvNamespaces } from './kv/kv.tokens';
export { KV_ERROR_STATUS } from './kv/kv.errors';

// Events: reading a shard's event log (every committed write appends one event in the same atomic step).
export { EventsModule } from './events/events.module';
export type { EventsModuleOptions } from './events/events.module';
export { EVENT_LOG } from './events/events.port';
export type { EventLog, EventsPage, EventsQuery, EventView } from './events/events.port';

// The operator board (a page over the modules above, read through their ports) and the ledger audit.
export { BoardModule } from './board/board.module';
export type { BoardLedger, BoardModuleOptions } from './board/board.port';
export { BOARD_ERROR_STATUS, BOARD_TOKEN_HEADER } from './board/board-token';
export { LedgerAuditModule } from './board/ledger-audit.module';
export { LEDGER_AUDIT } from './accounts/audit/audit.port';
export type { AuditMismatch, AuditReport, AuditVerdict, LedgerAudit } from './accounts/audit/audit.port';
export type { EventsInfo } from './events/events.port';
