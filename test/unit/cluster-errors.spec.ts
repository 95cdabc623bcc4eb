import { AtomicError, decodeRedisError, keySlot, singleSlot } from '@kernel/core';

/** Cluster replies and ioredis Cluster errors: refusals (nothing ran) vs failures after sending (maybe ran). */
const codeOf = (message: string): string | undefined => {
  const decoded = decodeRedisError(new Error(message));
  return decoded instanceof AtomicError ? decoded.code : undefined;
};

describe('cluster errors are classified', () => {
  it.each([
    ['MOVED 3999 127.0.0.1:7002', 'STORE_UNAVAILABLE'],
    ['ASK 3999 127.0.0.1:7002', 'STORE_UNAVAILABLE'],
    ['CLUSTERDOWN The cluster is down', 'STORE_UNAVAILABLE'],
    ['TRYAGAIN Multiple keys request during rehashing of slot', 'STORE_UNAVAILABLE'],
    ["CROSSSLOT Keys in request don't hash to the same slot", 'STORE_UNAVAILABLE'],
    ['Too many Cluster redirections. Last error: ReplyError: TRYAGAIN Multiple keys request', 'STORE_UNAVAILABLE'],
    ['Too many Cluster redirections. Last error: ReplyError: ERR Function not found', 'STORE_UNAVAILABLE'],
    ["Cluster isn't ready and enableOfflineQueue options is false", 'STORE_UNAVAILABLE'],
    // A redirection chain that ended in a failure after sending proves nothing: it may have run.
    ['Too many Cluster redirections. Last error: Error: Command timed out', 'OUTCOME_UNKNOWN'],
    ['Too many Cluster redirections. Last error: Error: Connection is closed.', 'OUTCOME_UNKNOWN'],
    ['Connection is closed.', 'OUTCOME_UNKNOWN'],
  ])('%s → %s', (message, code) => {
    expect(codeOf(message)).toBe(code);
  });
});

describe('singleSlot', () => {
  it('accepts keys of one hash tag and names the first key of another slot', () => {
    expect(singleSlot(['ra:{a}:x', 'ra:{a}:y', '{a}'])).toBe(keySlot('a'));
    expect(() => singleSlot(['ra:{a}:x', 'ra:{b}:y'])).toThrow(`"ra:{b}:y" in slot ${keySlot('b')}`);
    expect(() => singleSlot([])).toThrow(/at least one key/);
  });
});
