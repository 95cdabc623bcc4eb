import { Injectable, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { RedisAtomicModule } from '@kernel/nest';
import { RedisServer } from '@kernel/testing';
import { AccountsModule } from '../src/accounts/accounts.module';
import { AtomicStrategy } from '@kernel/core';
import { ACCOUNTS_LEDGER, AccountsLedger } from '../src/accounts/accounts.port';

@Injectable()
class Settings {
  strategy: AtomicStrategy = 'functions';
  ledger = 'async';
}

@Module({ providers: [Settings], exports: [Settings] })
class SettingsModule {}

describe('AccountsModule wiring', () => {
  let server: RedisServer;
  beforeAll(async () => (server = await RedisServer.start()));
  afterAll(() => server.stop());

  it('takes its options from other providers with forRootAsync', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        RedisAtomicModule.forRootAsync({ useFactory: async () => ({ url: server.url }) }),
        AccountsModule.forRootAsync({
          imports: [SettingsModule],
          inject: [Settings],
          useFactory: (settings: Settings) => ({ strategy: settings.strategy, ledger: settings.ledger }),
          http: false,
        }),
      ],
    }).compile();
    await moduleRef.init();
    const ledger = moduleRef.get<AccountsLedger>(ACCOUNTS_LEDGER);
    await ledger.open({ id: 'w1', balance: 7 });
    const client = server.client();
    expect(await client.hgetall('ra:{async}:acct:w1')).toEqual({ b: '7', m: '0' });
    await moduleRef.close();
  });

  it.each(['functions', 'transactions'] as const)('says clearly that strategy %s needs RedisAtomicModule', async (strategy) => {
    const compiling = Test.createTestingModule({ imports: [AccountsModule.forRoot({ strategy, http: false })] }).compile();
    await expect(compiling).rejects.toThrow(`strategy "${strategy}" needs RedisAtomicModule.forRoot`);
  });

  it('with loadFunctions: false, only verifies the library (ACL users without FUNCTION LOAD)', async () => {
    const admin = server.client();
    await admin.function('FLUSH');
    // A start that fails cannot be closed: no reconnects, so its client ends with the server.
    const redis = { url: server.url, loadFunctions: false, redis: { retryStrategy: () => null } };
    const build = () => Test.createTestingModule({
      imports: [RedisAtomicModule.forRoot(redis), AccountsModule.forRoot({ strategy: 'functions', http: false })],
    }).compile();
    await expect(build()).rejects.toThrow(/holds version none.*deploy it with: redis-atomic functions load/);
    expect(await admin.function('LIST')).toEqual([]); // it did not load anything

    const loaded = await Test.createTestingModule({
      imports: [RedisAtomicModule.forRoot({ url: server.url }), AccountsModule.forRoot({ strategy: 'functions', http: false })],
    }).compile(); // the default loads it
    await loaded.close();
    const verified = await build();
    await verified.init();
    await expect(verified.get<AccountsLedger>(ACCOUNTS_LEDGER).open({ id: 'acl1' })).resolves.toMatchObject({ id: 'acl1' });
    await verified.close();
  });

  it('refuses an unknown strategy', async () => {
    const compiling = Test.createTestingModule({
      imports: [AccountsModule.forRoot({ strategy: 'lua' as AtomicStrategy, http: false })],
    }).compile();
    await expect(compiling).rejects.toThrow('Unknown strategy "lua"');
  });
});
