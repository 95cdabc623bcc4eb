import { decodeRedisError } from '@kernel/core';
import { clientOptions } from '@kernel/redis';
import { loadConfig } from '../../src/config';

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
