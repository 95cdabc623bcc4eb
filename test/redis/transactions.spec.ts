import Redis, { ReplyError } from 'ioredis';
import { MaxRetriesPerRequestError } from 'ioredis/built/errors';
import { AtomicError, decodeRedisError } from '@kernel/core';
import { checkExecReplies, clientOptions, connectRedis, dedicatedConnection, execMulti } from '@kernel/redis';
import { keyspaceSnapshot, RedisServer } from '@kernel/testing';
import { atomicRejection, clientList, killClient, rejectionOf, waitFor } from './helpers';

/**
 * MULTI/EXEC on the kernel (pitfalls 1, 2, 20) and the one error decoder (11, 13, 18): no rollback is never
 * reported as success, EXECABORT is typed, and every failure class maps to its code.
 */

/** ioredis' AbortError (from redis-errors, untyped): the base class of MaxRetriesPerRequestError. */
const AbortError = Object.getPrototypeOf(MaxRetriesPerRequestError) as new (message: string) => Error;

let server: RedisServer;
let admin: Redis;
let shared: Redis;

beforeAll(async () => {
  server = await RedisServer.start();
  admin = server.client();
  shared = await connectRedis({ url: server.url });
});

beforeEach(async () => {
  await admin.call('CLIENT', 'UNPAUSE');
  await admin.config('SET', 'maxmemory', '0');
  await admin.flushall();
  await admin.call('FUNCTION', 'FLUSH');
  await waitFor(() => shared.status === 'ready', 'the shared client to be connected');
});

afterAll(async () => {
  shared?.disconnect();
  await server?.stop();
});

describe('execMulti', () => {
  it('returns the replies of a transaction that fully succeeded', async () => {
    await expect(execMulti(shared, (m) => m.set('a', '1').incrby('a', 4).get('a'))).resolves.toEqual(['OK', 5, '5']);
  });

  it('a runtime error inside EXEC rejects with STORE_CORRUPTED — and Redis applied the other commands (no rollback)', async () => {
    await admin.set('s', 'not an integer');
    const err = await atomicRejection(execMulti(shared, (m) => m.set('a', '1').incrby('s', 1).set('b', '2')));
    expect(err.code).toBe('STORE_CORRUPTED');
    expect(err.details).toEqual({ command: 1 });
    expect(err.message).toMatch(/not an integer/);
    // The documented hazard: the commands around the failing one were applied.
    expect(await admin.mget('a', 's', 'b')).toEqual(['1', 'not an integer', '2']);
  });

  it('a queue-time error (wrong arity) → EXECABORT → STORE_UNAVAILABLE, nothing applied', async () => {
    await admin.set('keep', 'me');
    const before = await keyspaceSnapshot(admin);
    const err = await atomicRejection(execMulti(shared, (m) => m.set('a', '1').call('SET', 'k').set('b', '2')));
    expect(err.code).toBe('STORE_UNAVAILABLE');
    expect(err.message).toMatch(/EXECABORT/);
    expect(await keyspaceSnapshot(admin)).toBe(before);
  });

  it('a queue-time error (unknown command) → EXECABORT → STORE_UNAVAILABLE, nothing applied', async () => {
    const before = await keyspaceSnapshot(admin);
    const err = await atomicRejection(execMulti(shared, (m) => m.set('a', '1').call('NOSUCHCOMMAND', 'x').set('b', '2')));
    expect(err.code).toBe('STORE_UNAVAILABLE');
    expect(await keyspaceSnapshot(admin)).toBe(before);
  });

  it('OOM while queueing aborts the whole transaction → STORE_UNAVAILABLE, nothing applied', async () => {
    await admin.set('keep', 'me');
    const before = await keyspaceSnapshot(admin);
    await admin.config('SET', 'maxmemory', '1');
    try {
      const err = await atomicRejection(execMulti(shared, (m) => m.set('a', '1').set('b', '2')));
      expect(err.code).toBe('STORE_UNAVAILABLE');
    } finally {
      await admin.config('SET', 'maxmemory', '0');
    }
    expect(await keyspaceSnapshot(admin)).toBe(before);
  });

  it('the connection dropped while the MULTI waits on the server → OUTCOME_UNKNOWN or STORE_UNAVAILABLE, not success', async () => {
    await admin.call('CLIENT', 'PAUSE', '10000', 'WRITE'); // MULTI runs, the queued SET waits
    const result = rejectionOf(execMulti(shared, (m) => m.set('a', '1').set('b', '2')));
    let inMulti: Record<string, string> | undefined;
    await waitFor(async () => {
      inMulti = (await clientList(admin)).find((c) => c.flags.includes('x') && c.flags.includes('b'));
      return inMulti !== undefined;
    }, 'the MULTI to block');
    await killClient(admin, inMulti!.id);
    const err = await result;
    await admin.call('CLIENT', 'UNPAUSE');
    expect(err).toBeInstanceOf(AtomicError);
    expect(['OUTCOME_UNKNOWN', 'STORE_UNAVAILABLE']).toContain((err as AtomicError).code);
    expect(await admin.exists('a', 'b')).toBe(0);
  });
});

describe('checkExecReplies', () => {
  it('returns the results when no command failed', () => {
    expect(checkExecReplies([[null, 'OK'], [null, 3], [null, null], [null, ['x']]])).toEqual(['OK', 3, null, ['x']]);
    expect(checkExecReplies([])).toEqual([]);
  });

  it('throws STORE_CORRUPTED naming the first failed command (0-based in details)', () => {
    const replies: [Error | null, unknown][] = [[null, 'OK'], [null, 1], [new Error('ERR value is not an integer'), null],
      [new Error('WRONGTYPE second'), null], [null, 'OK']];
    let thrown: unknown;
    try {
      checkExecReplies(replies);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(AtomicError);
    expect(thrown).toMatchObject({ code: 'STORE_CORRUPTED', details: { command: 2 } });
    expect((thrown as Error).message).toMatch(/command 3 of the transaction failed.*ERR value is not an integer/);
  });

  it('a failure in the first or last position is caught too', () => {
    expect(() => checkExecReplies([[new Error('ERR x'), null], [null, 'OK']])).toThrow(expect.objectContaining({ details: { command: 0 } }));
    expect(() => checkExecReplies([[null, 'OK'], [new Error('ERR x'), null]])).toThrow(expect.objectContaining({ details: { command: 1 } }));
  });
});

describe('decodeRedisError', () => {
  const code = (err: unknown) => (decodeRedisError(err) as AtomicError).code;

  it('our Lua error "CODE {json}" with Redis\' trailing "script: …" suffix → typed error with details', () => {
    const raw = new ReplyError('INSUFFICIENT_FUNDS {"message":"balance would fall below the floor","index":2,"account":"a",'
      + '"balance":5,"floor":0} script: accounts_transfer_batch, on @user_function:170.');
    const decoded = decodeRedisError(raw);
    expect(decoded).toBeInstanceOf(AtomicError);
    expect(decoded).toMatchObject({
      code: 'INSUFFICIENT_FUNDS',
      message: 'balance would fall below the floor',
      details: { index: 2, account: 'a', balance: 5, floor: 0 },
    });
    expect((decoded as AtomicError).details).not.toHaveProperty('message');
  });

  it('our Lua error without suffix, and JSON holding braces (keys with hash tags)', () => {
    expect(decodeRedisError(new ReplyError('STORE_CORRUPTED {"message":"history is not a list","key":"ra:{main}:hist:b"}')))
      .toMatchObject({ code: 'STORE_CORRUPTED', message: 'history is not a list', details: { key: 'ra:{main}:hist:b' } });
    expect(decodeRedisError(new ReplyError('ACCOUNT_EXISTS {}'))).toMatchObject({ code: 'ACCOUNT_EXISTS', message: 'ACCOUNT_EXISTS' });
  });

  // Server replies arrive as ReplyError; client-side failures as plain Errors (as ioredis raises them).
  it.each([
    ['ERR Function not found', 'STORE_UNAVAILABLE', 'reply'],
    ["OOM command not allowed when used memory > 'maxmemory'.", 'STORE_UNAVAILABLE', 'reply'],
    ['BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.', 'STORE_UNAVAILABLE', 'reply'],
    ['LOADING Redis is loading the dataset in memory', 'STORE_UNAVAILABLE', 'reply'],
    ["READONLY You can't write against a read only replica.", 'STORE_UNAVAILABLE', 'reply'],
    ['EXECABORT Transaction discarded because of previous errors.', 'STORE_UNAVAILABLE', 'reply'],
    ["Stream isn't writeable and enableOfflineQueue options is false", 'STORE_UNAVAILABLE', 'client'],
    ['Connection is closed.', 'OUTCOME_UNKNOWN', 'client'],
    ['Command timed out', 'OUTCOME_UNKNOWN', 'client'],
    ['WRONGTYPE Operation against a key holding the wrong kind of value', 'STORE_CORRUPTED', 'reply'],
    ['WRONGTYPE Operation against a key holding the wrong kind of value script: accounts_get, on @user_function:31.',
      'STORE_CORRUPTED', 'reply'],
  ])('%j → %s', (message, expected, kind) => {
    const decoded = decodeRedisError(kind === 'reply' ? new ReplyError(message) : new Error(message));
    expect(decoded).toBeInstanceOf(AtomicError);
    expect((decoded as AtomicError).code).toBe(expected);
  });

  it('MaxRetriesPerRequestError (a command in flight when the connection dropped) → OUTCOME_UNKNOWN', () => {
    expect(code(new MaxRetriesPerRequestError(0))).toBe('OUTCOME_UNKNOWN');
  });

  it('ioredis\' AbortError "Command aborted due to connection close" (a MULTI/pipeline cut mid-flight) → OUTCOME_UNKNOWN', () => {
    const err = new AbortError('Command aborted due to connection close');
    expect(err.name).toBe('AbortError');
    expect(code(err)).toBe('OUTCOME_UNKNOWN');
  });

  it('a refused connection → STORE_UNAVAILABLE', () => {
    const err = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
    expect(code(err)).toBe('STORE_UNAVAILABLE');
  });

  it('anything else is passed through unchanged (same object)', () => {
    const unknown = new ReplyError('ERR something we never planned for');
    expect(decodeRedisError(unknown)).toBe(unknown);
    const notJson = new ReplyError('CODE {not json}');
    expect(decodeRedisError(notJson)).toBe(notJson);
    const typeError = new TypeError('x is not a function');
    expect(decodeRedisError(typeError)).toBe(typeError);
    const atomic = new AtomicError('CONFLICT', 'already typed');
    expect(decodeRedisError(atomic)).toBe(atomic);
    expect(decodeRedisError('a string')).toBe('a string');
    expect(decodeRedisError(undefined)).toBeUndefined();
  });

  describe('on errors produced by a live server and ioredis', () => {
    it('WRONGTYPE, Function not found, OOM and a Lua error with a script suffix', async () => {
      await admin.set('str', 'x');
      expect(code(await rejectionOf(shared.hget('str', 'f')))).toBe('STORE_CORRUPTED');
      expect(code(await rejectionOf(shared.call('FCALL', 'accounts_get', 1, 'k')))).toBe('STORE_UNAVAILABLE');

      await admin.call('FUNCTION', 'LOAD',
        "#!lua name=probe\nredis.register_function('probe_fail', function(keys) return redis.call('HGET', keys[1], 'f') end)");
      const suffixed = (await rejectionOf(shared.call('FCALL', 'probe_fail', 1, 'str'))) as Error;
      expect(suffixed.message).toMatch(/^WRONGTYPE .* script: probe_fail/);
      expect(code(suffixed)).toBe('STORE_CORRUPTED');

      await admin.config('SET', 'maxmemory', '1');
      try {
        const oom = (await rejectionOf(shared.set('k', 'v'))) as Error;
        expect(oom.message).toMatch(/^OOM/);
        expect(code(oom)).toBe('STORE_UNAVAILABLE');
      } finally {
        await admin.config('SET', 'maxmemory', '0');
      }
    });

    it('"Stream isn\'t writeable" (not connected, no offline queue) and "Connection is closed." (reply lost)', async () => {
      const offline = new Redis({ ...clientOptions({ url: 'redis://127.0.0.1:1' }), retryStrategy: () => null });
      offline.on('error', () => undefined);
      const notWritten = (await rejectionOf(offline.get('k'))) as Error;
      offline.disconnect();
      expect(notWritten.message).toMatch(/Stream isn't writeable/);
      expect(code(notWritten)).toBe('STORE_UNAVAILABLE');

      // A write in flight on a connection that does not reconnect (WATCH connections) when it is killed.
      const connection = dedicatedConnection(shared);
      await connection.ping();
      await admin.call('CLIENT', 'PAUSE', '10000', 'WRITE');
      const inFlight = rejectionOf(connection.set('k', 'v'));
      let blocked: Record<string, string> | undefined;
      await waitFor(async () => {
        blocked = (await clientList(admin)).find((c) => c.cmd === 'set' && c.flags.includes('b'));
        return blocked !== undefined;
      }, 'the SET to block');
      await killClient(admin, blocked!.id);
      const afterClose = (await inFlight) as Error;
      await admin.call('CLIENT', 'UNPAUSE');
      expect(afterClose.message).toBe('Connection is closed.');
      expect(code(afterClose)).toBe('OUTCOME_UNKNOWN');
    });
  });
});
