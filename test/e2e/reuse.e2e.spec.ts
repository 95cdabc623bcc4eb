/**
 * Another Nest app reuses the Accounts module as a library: its own module and service inject the
 * ACCOUNTS_LEDGER port, with RedisAtomicModule configured asynchronously and no HTTP routes of ours.
 * Also: the memory strategy needs no RedisAtomicModule at all.
 */
import { DynamicModule, Inject, Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import type Redis from 'ioredis';
import { isAtomicError } from '@kernel/core';
import { RedisAtomicModule } from '@kernel/nest';
import { keyspaceSnapshot, RedisServer } from '@kernel/testing';
import { AccountsModule } from '../../src/accounts/accounts.module';
import { ACCOUNTS_LEDGER, AccountsLedger, TransferReceipt } from '../../src/accounts/accounts.port';

const COMPANY = 'company';

/** The reusing app's own service: pays salaries out of the company account. */
@Injectable()
class PayrollService {
  constructor(@Inject(ACCOUNTS_LEDGER) readonly ledger: AccountsLedger) {}

  async hire(employee: string): Promise<void> {
    await this.ledger.open({ id: employee });
  }

  paySalary(employee: string, amount: number): Promise<TransferReceipt> {
    return this.ledger.transfer({ from: COMPANY, to: employee, amount });
  }
}

@Module({ providers: [PayrollService] })
class PayrollAppModule {
  static withRedis(url: string): DynamicModule {
    return {
      module: PayrollAppModule,
      imports: [
        RedisAtomicModule.forRootAsync({ useFactory: async () => ({ url }) }),
        AccountsModule.forRoot({ strategy: 'functions', http: false, ledger: 'payroll' }),
      ],
    };
  }

  static inMemory(): DynamicModule {
    return { module: PayrollAppModule, imports: [AccountsModule.forRoot({ strategy: 'memory', http: false })] };
  }
}

/** Connections on the server other than `client`'s own. */
async function otherConnections(client: Redis): Promise<number> {
  const self = await client.client('ID');
  const list = (await client.client('LIST')) as string;
  return list.trim().split('\n').filter((line) => !line.startsWith(`id=${self} `)).length;
}

describe('reusing AccountsModule in another Nest app (functions, ledger "payroll", http: false)', () => {
  let server: RedisServer;
  let client: Redis;
  let app: NestFastifyApplication;
  let closed = false;

  beforeAll(async () => {
    server = await RedisServer.start();
    client = server.client();
    app = await NestFactory.create<NestFastifyApplication>(PayrollAppModule.withRedis(server.url), new FastifyAdapter(), {
      logger: false,
      abortOnError: false,
    });
    await app.init();
    await app.getHttpAdapter().getInstance().ready();
  });

  afterAll(async () => {
    if (!closed) await app?.close();
    await server?.stop();
  });

  it('the app\'s own service pays a salary through the injected port', async () => {
    const payroll = app.get(PayrollService);
    await payroll.ledger.open({ id: COMPANY, balance: 10_000 });
    await payroll.hire('alice');
    const receipt = await payroll.paySalary('alice', 3_000);
    expect(receipt).toEqual({
      id: expect.any(String), from: { id: COMPANY, balance: 7_000 }, to: { id: 'alice', balance: 3_000 }, amount: 3_000, at: expect.any(String),
    });
    expect(await payroll.ledger.get('alice')).toEqual({ id: 'alice', balance: 3_000, minBalance: 0, pendingDebits: 0, pendingCredits: 0, available: 3_000 });
    const history = await payroll.ledger.history('alice');
    expect(history.entries).toEqual([expect.objectContaining({ transferId: receipt.id, type: 'transfer_in', amount: 3_000, counterparty: COMPANY })]);
    // the port's rules come with it: typed errors, nothing paid
    const failure = await payroll.paySalary('alice', 8_000).catch((err: unknown) => err);
    expect(isAtomicError(failure, 'INSUFFICIENT_FUNDS')).toBe(true);
    expect((await payroll.ledger.get(COMPANY)).balance).toBe(7_000);
  });

  it('keys live under the "payroll" hash tag', async () => {
    expect(await client.exists('ra:{payroll}:acct:alice')).toBe(1);
    expect(await client.exists('ra:{payroll}:hist:alice')).toBe(1);
    expect(await client.exists('ra:{main}:acct:alice')).toBe(0);
    const keys = (await client.keys('*')).sort();
    expect(keys).toEqual(['ra:{payroll}:acct:alice', 'ra:{payroll}:acct:company', 'ra:{payroll}:events', 'ra:{payroll}:hist:alice',
      'ra:{payroll}:hist:company']);
  });

  it('mounts no /accounts or /transfers route when http is false', async () => {
    const before = await keyspaceSnapshot(client);
    for (const [method, url, payload] of [
      ['GET', '/accounts/alice', undefined],
      ['GET', '/accounts/alice/history', undefined],
      ['POST', '/accounts', { id: 'mallory', balance: 1 }],
      ['POST', '/accounts/alice/deposit', { amount: 1 }],
      ['POST', '/transfers', { from: COMPANY, to: 'alice', amount: 1 }],
      ['POST', '/transfers/batch', { transfers: [{ from: COMPANY, to: 'alice', amount: 1 }] }],
    ] as const) {
      const res = await app.inject({ method, url, payload });
      expect({ method, url, status: res.statusCode }).toEqual({ method, url, status: 404 });
    }
    expect(await keyspaceSnapshot(client)).toBe(before); // 'alice' exists, yet nothing answered or wrote
  });

  it('app.close() closes its Redis connection', async () => {
    expect(await otherConnections(client)).toBeGreaterThanOrEqual(1);
    await app.close();
    closed = true;
    // the server frees a connection right after answering its QUIT; allow it that moment
    for (let i = 0; i < 100 && (await otherConnections(client)) > 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(await otherConnections(client)).toBe(0);
  });
});

describe('reusing AccountsModule with the memory strategy and no RedisAtomicModule', () => {
  it('the port works in-process', async () => {
    const app = await NestFactory.createApplicationContext(PayrollAppModule.inMemory(), { logger: false, abortOnError: false });
    try {
      const payroll = app.get(PayrollService);
      await payroll.ledger.open({ id: COMPANY, balance: 500 });
      await payroll.hire('bob');
      expect(await payroll.paySalary('bob', 200)).toMatchObject({ from: { id: COMPANY, balance: 300 }, to: { id: 'bob', balance: 200 } });
      await expect(payroll.paySalary('bob', 301)).rejects.toMatchObject({ code: 'INSUFFICIENT_FUNDS' });
      await expect(payroll.hire('bob')).rejects.toMatchObject({ code: 'ACCOUNT_EXISTS' });
      await expect(payroll.paySalary('b:ob', 1)).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
      expect(await payroll.ledger.get('bob')).toEqual({ id: 'bob', balance: 200, minBalance: 0, pendingDebits: 0, pendingCredits: 0, available: 200 });
    } finally {
      await app.close();
    }
  });
});
