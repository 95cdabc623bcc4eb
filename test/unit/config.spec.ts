import { decodeRedisError } from '@kernel/core';
import { clientOptions } from '@kernel/redis';
import { ConfigError, loadConfig, redactUrl } from '../../src/config';

describe('configuration', () => {
  it('turns TLS on for rediss:// URLs unless REDIS_TLS says otherwise', () => {
    const tlsFromUrl = loadConfig({ REDIS_URL: 'rediss://cache.example:6380' }).redis;
    expect(clientOptions(tlsFromUrl).tls).toEqual({});
    expect(clientOptions(loadConfig({ REDIS_URL: 'rediss://cache.example:6380', REDIS_TLS: 'false' }).redis).tls).toBeUndefined();
    expect(clientOptions(loadConfig({ REDIS_URL: 'redis://127.0.0.1:6379' }).redis).tls).toBeUndefined();
    expect(clientOptions(loadConfig({ REDIS_URL: 'redis://127.0.0.1:6379', REDIS_TLS: 'true' }).redis).tls).toEqual({});
  });

  it('takes credentials from the URL', () => {
    const options = clientOptions(loadConfig({ REDIS_URL: 'redis://svc:p%40ss@10.0.0.5:6390/2' }).redis);
    expect(options).toMatchObject({ host: '10.0.0.5', port: 6390, db: 2, username: 'svc', password: 'p@ss' });
  });
});

describe('errors raised inside a running function', () => {
  it('are "outcome unknown", not "certainly not run": earlier writes of the function may have applied', () => {
    const insideFunction = new Error("NOPERM this user has no permissions to run the 'xadd' command script: accounts_transfer, on @user_function:120.");
    expect(decodeRedisError(insideFunction)).toMatchObject({ code: 'OUTCOME_UNKNOWN' });
    const refusedBeforeRunning = new Error("NOPERM this user has no permissions to run the 'fcall' command");
    expect(decodeRedisError(refusedBeforeRunning)).toMatchObject({ code: 'STORE_UNAVAILABLE' });
  });
});

describe('the validated environment (loadConfig)', () => {
  const failure = (env: Record<string, string>) => {
    try {
      loadConfig(env);
    } catch (err) {
      return err as ConfigError;
    }
    throw new Error(`accepted ${JSON.stringify(env)}`);
  };

  it('has a default for every variable', () => {
    expect(loadConfig({})).toEqual({
      port: 3000, strategy: 'functions', redis: { url: 'redis://127.0.0.1:6379', commandTimeoutMs: 5000, waitReplicas: 0, waitTimeoutMs: 1000 }, ledger: 'main', shop: 'main', kvNamespace: 'kv', shards: {},
      maxBatch: 1000, historyLimit: 1000, idempotencyTtlSeconds: 86_400, eventsMaxLen: 100_000, log: { level: 'info', format: 'json' },
      metrics: true, shutdownGraceMs: 10_000, docs: 'auto', reservationSweepMs: 1000, pendingSweepMs: 1000, workers: 1,
      board: { enabled: false },
    });
    expect(loadConfig({ NODE_ENV: 'development' }).log.format).toBe('pretty');
    expect(loadConfig({ PORT: '', LOG_FORMAT: '' })).toMatchObject({ port: 3000, log: { format: 'json' } }); // empty = unset
  });

  it('reads valid values', () => {
    expect(loadConfig({
      PORT: '8080', ATOMIC_STRATEGY: 'transactions', REDIS_URL: 'rediss://u:p@cache:6380/2', REDIS_TLS: 'false', REDIS_COMMAND_TIMEOUT_MS: '250', LEDGER: 'payroll',
      SHOP: 'eu-1', KV_NAMESPACE: 'flags', MAX_BATCH: '2000', HISTORY_LIMIT: '5', IDEMPOTENCY_TTL_SECONDS: '60', EVENTS_MAXLEN: '10',
      LOG_LEVEL: 'debug', LOG_FORMAT: 'pretty', METRICS: 'false', SHUTDOWN_GRACE_MS: '0', DOCS_ENABLED: 'false', RESERVATION_SWEEP_MS: '0', PENDING_SWEEP_MS: '250',
      WORKERS: 'auto', REDIS_LOAD_FUNCTIONS: 'false', RATE_LIMIT_MAX: '100', RATE_LIMIT_WINDOW_SECONDS: '10',
      REDIS_CLUSTER_NODES: '10.0.0.1:7000,cache-2:7001', REDIS_WAIT_REPLICAS: '1', REDIS_WAIT_TIMEOUT_MS: '200',
      BOARD_ENABLED: 'true', BOARD_TOKEN: 'operator-token-0123456789',
      LEDGERS: 'eu,us-2', SHOPS: 'eu', KV_NAMESPACES: 'tenant_1,tenant_2',
    })).toEqual({
      port: 8080, strategy: 'transactions', redis: {
        url: 'rediss://u:p@cache:6380/2', tls: false, commandTimeoutMs: 250, loadFunctions: false, cluster: { nodes: ['10.0.0.1:7000', 'cache-2:7001'] },
        waitReplicas: 1, waitTimeoutMs: 200,
      },
      ledger: 'payroll', shop: 'eu-1', kvNamespace: 'flags', shards: { ledgers: ['eu', 'us-2'], shops: ['eu'], kvNamespaces: ['tenant_1', 'tenant_2'] },
      maxBatch: 2000, historyLimit: 5, idempotencyTtlSeconds: 60, eventsMaxLen: 10,
      log: { level: 'debug', format: 'pretty' }, metrics: false, shutdownGraceMs: 0, docs: false, reservationSweepMs: 0, pendingSweepMs: 250, workers: 'auto',
      rateLimit: { limit: 100, windowSeconds: 10 },
      board: { enabled: true, token: 'operator-token-0123456789' },
    });
  });

  it('the board: off unless enabled or a token is set; BOARD_ENABLED=false wins; a bad token is refused without being echoed', () => {
    expect(loadConfig({ BOARD_ENABLED: 'true' }).board).toEqual({ enabled: true });
    expect(loadConfig({ BOARD_TOKEN: 'operator-token-0123456789' }).board).toEqual({ enabled: true, token: 'operator-token-0123456789' });
    expect(loadConfig({ BOARD_ENABLED: 'false', BOARD_TOKEN: 'operator-token-0123456789' }).board.enabled).toBe(false);
    expect(failure({ BOARD_ENABLED: 'on' }).message).toBe('BOARD_ENABLED must be true or false (got "on")');
    for (const token of ['short-secret', 'has a space in it 123456']) {
      const error = failure({ BOARD_TOKEN: token });
      expect({ variable: error.variable, message: error.message })
        .toEqual({ variable: 'BOARD_TOKEN', message: 'BOARD_TOKEN must be 16 to 256 printable ASCII characters without spaces' });
    }
  });

  it.each([
    ['ATOMIC_STRATEGY', 'bogus', 'ATOMIC_STRATEGY must be one of functions, transactions, memory (got "bogus")'],
    ['PORT', '99999', 'PORT must be a whole number from 1 to 65535 (got "99999")'],
    ['LEDGERS', 'eu,,us', 'LEDGERS must be a comma-separated list of names matching ^[A-Za-z0-9_-]{1,64}$ (got "eu,,us")'],
    ['SHOPS', 'eu, us', 'SHOPS must be a comma-separated list of names matching ^[A-Za-z0-9_-]{1,64}$ (got "eu, us")'],
    ['KV_NAMESPACES', 'a{b}', 'KV_NAMESPACES must be a comma-separated list of names matching ^[A-Za-z0-9_-]{1,64}$ (got "a{b}")'],
    ['PORT', 'abc', 'PORT must be a whole number from 1 to 65535 (got "abc")'],
    ['PORT', '0', 'PORT must be a whole number from 1 to 65535 (got "0")'],
    ['PORT', '80.5', 'PORT must be a whole number from 1 to 65535 (got "80.5")'],
    ['PORT', ' 80', 'PORT must be a whole number from 1 to 65535 (got " 80")'],
    ['REDIS_URL', 'notaurl', 'REDIS_URL must be a redis:// or rediss:// URL, e.g. redis://127.0.0.1:6379 (got "notaurl")'],
    ['REDIS_URL', 'http://cache:6379', 'REDIS_URL must be a redis:// or rediss:// URL, e.g. redis://127.0.0.1:6379 (got "http://cache:6379")'],
    ['REDIS_URL', 'redis://cache:70000', 'REDIS_URL must be a redis:// or rediss:// URL, e.g. redis://127.0.0.1:6379 (got "redis://cache:70000")'],
    ['REDIS_COMMAND_TIMEOUT_MS', '0', 'REDIS_COMMAND_TIMEOUT_MS must be a whole number from 1 to 600000 (got "0")'],
    ['REDIS_TLS', 'yes-please', 'REDIS_TLS must be true or false (got "yes-please")'],
    ['MAX_BATCH', '-1', 'MAX_BATCH must be a whole number from 1 to 2000 (got "-1")'],
    ['MAX_BATCH', '2001', 'MAX_BATCH must be a whole number from 1 to 2000 (got "2001")'],
    ['HISTORY_LIMIT', '1.5', 'HISTORY_LIMIT must be a whole number >= 1 (got "1.5")'],
    ['IDEMPOTENCY_TTL_SECONDS', '-86400', 'IDEMPOTENCY_TTL_SECONDS must be a whole number >= 1 (got "-86400")'],
    ['EVENTS_MAXLEN', '1e5', 'EVENTS_MAXLEN must be a whole number >= 1 (got "1e5")'],
    ['SHUTDOWN_GRACE_MS', '-5', 'SHUTDOWN_GRACE_MS must be a whole number from 0 to 600000 (got "-5")'],
    ['LOG_LEVEL', 'loud', 'LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent (got "loud")'],
    ['LOG_FORMAT', 'xml', 'LOG_FORMAT must be one of json, pretty (got "xml")'],
    ['METRICS', 'on', 'METRICS must be true or false (got "on")'],
    ['LEDGER', 'a{b}', 'LEDGER must match ^[A-Za-z0-9_-]{1,64}$ (got "a{b}")'],
    ['REDIS_CLUSTER_NODES', 'cache', 'REDIS_CLUSTER_NODES must be host:port[,host:port…], e.g. 10.0.0.1:7000,10.0.0.2:7000 (got "cache")'],
    ['REDIS_WAIT_REPLICAS', '-1', 'REDIS_WAIT_REPLICAS must be a whole number from 0 to 16 (got "-1")'],
    ['WORKERS', '0', 'WORKERS must be a whole number from 1 to 999, or auto (got "0")'],
    ['DOCS_ENABLED', 'maybe', 'DOCS_ENABLED must be true or false (got "maybe")'],
    ['RESERVATION_SWEEP_MS', '1.5', 'RESERVATION_SWEEP_MS must be a whole number from 0 to 86400000 (got "1.5")'],
    ['REDIS_LOAD_FUNCTIONS', 'yes', 'REDIS_LOAD_FUNCTIONS must be true or false (got "yes")'],
    ['RATE_LIMIT_MAX', '-1', 'RATE_LIMIT_MAX must be a whole number >= 0 (got "-1")'],
    ['RATE_LIMIT_WINDOW_SECONDS', '0', 'RATE_LIMIT_WINDOW_SECONDS must be a whole number from 1 to 86400 (got "0")'],
    ['REDIS_TLS_CA_FILE', '/nonexistent/ca.pem', "REDIS_TLS_CA_FILE cannot be read: ENOENT: no such file or directory, open '/nonexistent/ca.pem'"],
  ])('%s=%j is refused with one line naming it', (variable, value, message) => {
    const error = failure({ [variable]: value });
    expect(error).toBeInstanceOf(ConfigError);
    expect({ variable: error.variable, message: error.message }).toEqual({ variable, message });
  });

  it('never repeats a password in the message', () => {
    expect(failure({ REDIS_URL: 'redis://svc:s3cret@cache:70000' }).message).toContain('redis://svc:***@cache:70000');
    expect(failure({ REDIS_URL: 'redis://svc:s3cret@cache:70000' }).message).not.toContain('s3cret');
    expect(redactUrl('rediss://:s3cret@cache:6380/1')).toBe('rediss://:***@cache:6380/1');
    expect(redactUrl('redis://cache:6379')).toBe('redis://cache:6379');
  });
});
