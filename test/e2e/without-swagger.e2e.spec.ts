/**
 * @nestjs/swagger is optional for the modules: without it (simulated: every require of it fails as a missing
 * package would), the routes are the same and answer the same; only the service's docs need it, and asking for
 * them then fails at start with one clear message.
 */
type Bootstrap = typeof import('../../src/bootstrap');
type Config = typeof import('../../src/config');
type Dto = typeof import('../../src/accounts/dto/transfer.dto');

function withoutSwagger(): { bootstrap: Bootstrap; config: Config; dto: Dto } {
  let loaded!: { bootstrap: Bootstrap; config: Config; dto: Dto };
  jest.isolateModules(() => {
    jest.doMock('@nestjs/swagger', () => {
      throw Object.assign(new Error("Cannot find module '@nestjs/swagger'"), { code: 'MODULE_NOT_FOUND' });
    });
    loaded = { bootstrap: require('../../src/bootstrap'), config: require('../../src/config'), dto: require('../../src/accounts/dto/transfer.dto') };
  });
  return loaded; // the simulation stays on (for requires made later) until jest.dontMock

}

describe('without @nestjs/swagger installed', () => {
  it('the modules serve and validate exactly as before; /docs is simply absent', async () => {
    const { bootstrap, config, dto } = withoutSwagger();
    // the simulation holds: these DTOs carry no swagger metadata, the ones loaded normally do
    const documented = (type: object) => Reflect.getMetadata('swagger/apiModelPropertiesArray', (type as { prototype: object }).prototype);
    expect(documented(dto.TransferDto)).toBeUndefined();
    jest.dontMock('@nestjs/swagger');
    expect(documented((await import('../../src/accounts/dto/transfer.dto')).TransferDto)).toEqual(expect.arrayContaining([':amount']));
    const app = await bootstrap.createApp(config.loadConfig({ ATOMIC_STRATEGY: 'memory', DOCS_ENABLED: 'false' }), { logger: false });
    try {
      await app.init();
      await app.getHttpAdapter().getInstance().ready();
      const post = (url: string, payload: object) => app.inject({ method: 'POST', url, payload });
      expect((await post('/accounts', { id: 'a', balance: 100 })).statusCode).toBe(201);
      expect((await post('/accounts', { id: 'b' })).statusCode).toBe(201);
      expect((await post('/transfers', { from: 'a', to: 'b', amount: 40 })).json()).toMatchObject({ from: { id: 'a', balance: 60 } });
      expect((await post('/transfers', { from: 'a', to: 'b', amount: '40' })).json()).toMatchObject({ statusCode: 400, code: 'VALIDATION_FAILED' });
      expect((await post('/accounts', { id: 'c', extra: 1 })).json()).toMatchObject({ statusCode: 400, code: 'VALIDATION_FAILED' });
      expect((await app.inject({ method: 'GET', url: '/docs-json' })).statusCode).toBe(404);
    } finally {
      await app.close();
    }
  });

  it('DOCS_ENABLED=true then fails at start, naming both fixes; unset, the service starts without /docs', async () => {
    const { bootstrap, config } = withoutSwagger();
    try {
      await expect(bootstrap.createApp(config.loadConfig({ ATOMIC_STRATEGY: 'memory', DOCS_ENABLED: 'true' }), { logger: false }))
        .rejects.toThrow('the API docs (/docs) need @nestjs/swagger: npm install @nestjs/swagger, or set DOCS_ENABLED=false');
      const app = await bootstrap.createApp(config.loadConfig({ ATOMIC_STRATEGY: 'memory' }), { logger: false });
      try {
        await app.init();
        expect((await app.inject({ method: 'GET', url: '/docs-json' })).statusCode).toBe(404);
        expect((await app.inject({ method: 'POST', url: '/accounts', payload: { id: 'a' } })).statusCode).toBe(201);
      } finally {
        await app.close();
      }
    } finally {
      jest.dontMock('@nestjs/swagger');
    }
  });
});
