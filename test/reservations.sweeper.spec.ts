import { Test } from '@nestjs/testing';
import type { AtomicStrategy } from '@kernel/core';
import { RedisAtomicModule } from '@kernel/nest';
import { RedisServer } from '@kernel/testing';
import { InventoryModule } from '../src/shop/inventory/inventory.module';
import { INVENTORY, Inventory, SweepResult } from '../src/shop/inventory/inventory.port';
import { ReservationSweeper } from '../src/shop/inventory/reservation-sweeper';
import { uniqueShop } from './support/shop-fixture';

/**
 * InventoryModule's opt-in `reservationSweep`: the module's own sweeper gives a lapsed reservation's units back
 * with nobody calling expireDue; it stops (waiting for a sweep in flight) when the module is destroyed; bad
 * options fail at start.
 */
let server: RedisServer;
beforeAll(async () => (server = await RedisServer.start()));
afterAll(() => server.stop());

async function inventoryModule(strategy: AtomicStrategy, reservationSweep: { intervalMs: number; batch?: number }) {
  const moduleRef = await Test.createTestingModule({
    imports: [...(strategy === 'memory' ? [] : [RedisAtomicModule.forRoot({ url: server.url })]),
      InventoryModule.forRoot({ strategy, shop: uniqueShop(), http: false, reservationSweep })],
  }).compile();
  await moduleRef.init();
  return moduleRef;
}

describe.each<AtomicStrategy>(['memory', 'functions', 'transactions'])('reservationSweep — %s', (strategy) => {
  it('expires a lapsed reservation by itself: units back, status expired', async () => {
    const moduleRef = await inventoryModule(strategy, { intervalMs: 50, batch: 10 });
    try {
      const inventory = moduleRef.get<Inventory>(INVENTORY);
      await inventory.setStock('p1', 5);
      const r = await inventory.reserve('p1', 2, 1);
      expect(r.status).toBe('held');
      while ((await inventory.availability('p1')).held > 0) await new Promise((resolve) => setTimeout(resolve, 50));
      expect(await inventory.availability('p1')).toEqual({ productId: 'p1', available: 5, held: 0 });
      expect(await inventory.getReservation('p1', r.id)).toMatchObject({ status: 'expired' });
      await expect(inventory.release('p1', r.id)).rejects.toMatchObject({ code: 'RESERVATION_EXPIRED' });
    } finally {
      await moduleRef.close();
    }
  });
});

describe('ReservationSweeper', () => {
  /** An Inventory whose expireDue calls are counted and held until the test lets them finish. */
  class GatedInventory {
    calls = 0;
    private gates: (() => void)[] = [];
    private arrived?: () => void;
    called = new Promise<void>((resolve) => (this.arrived = resolve));
    expireDue(): Promise<SweepResult> {
      this.calls++;
      this.arrived?.();
      return new Promise((resolve) => this.gates.push(() => resolve({ expired: [] })));
    }
    open(): void {
      for (const gate of this.gates.splice(0)) gate();
    }
  }

  it('stop() waits for the sweep in flight and no sweep starts after it', async () => {
    const inventory = new GatedInventory();
    const errors: unknown[] = [];
    const sweeper = new ReservationSweeper(inventory as unknown as Inventory, { intervalMs: 10 }, (err) => errors.push(err));
    sweeper.start();
    await inventory.called;
    let stopped = false;
    const stopping = sweeper.stop().then(() => (stopped = true));
    await new Promise((resolve) => setImmediate(resolve));
    expect(stopped).toBe(false); // the sweep in flight is still running
    inventory.open();
    await stopping;
    const calls = inventory.calls;
    for (let i = 0; i < 5; i++) await new Promise((resolve) => setTimeout(resolve, 20)); // > the interval, several times
    expect(inventory.calls).toBe(calls);
    expect(errors).toEqual([]);
  });

  it('a failed sweep is reported and the next one runs on schedule', async () => {
    let calls = 0;
    const failing = { expireDue: async () => (++calls === 1 ? Promise.reject(new Error('boom')) : { expired: [] }) };
    const errors: unknown[] = [];
    const sweeper = new ReservationSweeper(failing as unknown as Inventory, { intervalMs: 10 }, (err) => errors.push(err));
    sweeper.start();
    while (calls < 2) await new Promise((resolve) => setTimeout(resolve, 10));
    await sweeper.stop();
    expect(errors).toEqual([new Error('boom')]);
  });

  it.each([
    [{ intervalMs: 0 }, /intervalMs must be an integer >= 10/],
    [{ intervalMs: 1.5 }, /intervalMs/],
    [{ intervalMs: 100, batch: 0 }, /batch must be an integer from 1 to 1000/],
    [{ intervalMs: 100, batch: 1001 }, /batch/],
  ])('refuses the options %j at start', async (options, message) => {
    await expect(inventoryModule('memory', options)).rejects.toThrow(message);
  });
});
