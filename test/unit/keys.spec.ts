import { assertId, isAtomicError, KeySpace } from '@kernel/core';

describe('KeySpace', () => {
  const space = new KeySpace('ra', 'main');

  it('puts every key of a shard under one hash tag', () => {
    expect(space.key('acct', 'alice')).toBe('ra:{main}:acct:alice');
    expect(space.key('hist', 'bob')).toBe('ra:{main}:hist:bob');
  });

  it.each(['', 'a:b', 'a{b}', 'a*', 'a b', 'a\nb', 'ab\n', 'é', 'x'.repeat(65), 'a/b'])('refuses the id %j', (id) => {
    expect(() => space.key('acct', id)).toThrow(expect.objectContaining({ code: 'VALIDATION_FAILED' }));
  });

  it('accepts the allowlisted alphabet up to 64 characters', () => {
    expect(() => assertId('A-z_09'.repeat(10) + 'abcd')).not.toThrow();
    try {
      assertId(42);
      throw new Error('unreachable');
    } catch (err) {
      expect(isAtomicError(err, 'VALIDATION_FAILED')).toBe(true);
    }
  });
});
