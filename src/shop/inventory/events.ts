/** Inventory's events (lua/inventory.lua documents them; every adapter appends the same data). */
export const stockEvents = {
  set: (productId: string, stock: number) => ({ type: 'stock.set', data: { productId, stock } }),
  restocked: (productId: string, quantity: number, stock: number) =>
    ({ type: 'stock.restocked', data: { productId, quantity, stock } }),
};
