/** Inventory's events (lua/inventory.lua documents them; every adapter appends the same data). */
export const stockEvents = {
  set: (productId: string, stock: number) => ({ type: 'stock.set', data: { productId, stock } }),
  restocked: (productId: string, quantity: number, stock: number) =>
    ({ type: 'stock.restocked', data: { productId, quantity, stock } }),
  reservationCreated: (id: string, productId: string, quantity: number, expiresAtMs: number, stock: number) =>
    ({ type: 'reservation.created', data: { reservationId: id, productId, quantity, expiresAtMs, stock } }),
  reservationReleased: (id: string, productId: string, quantity: number, stock: number) =>
    ({ type: 'reservation.released', data: { reservationId: id, productId, quantity, stock } }),
  reservationExpired: (id: string, productId: string, quantity: number, stock: number) =>
    ({ type: 'reservation.expired', data: { reservationId: id, productId, quantity, stock } }),
  /** Appended by Orders (after order.placed) for each line that consumed a reservation. */
  reservationConsumed: (id: string, productId: string, quantity: number, orderId: string) =>
    ({ type: 'reservation.consumed', data: { reservationId: id, productId, quantity, orderId } }),
};
