/**
 * Redis Cluster's key → hash slot function (CRC16/XMODEM of the key, or of its `{hash tag}`, mod 16384), as
 * specified in the Redis Cluster specification ("Hash tags"). Kept here, dependency-free, so the kernel can
 * route a WATCH transaction to the master that owns its keys; checked against `CLUSTER KEYSLOT` in the tests.
 */
export const CLUSTER_SLOTS = 16384;

const TABLE = (() => {
  const table = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let crc = i << 8;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
    table[i] = crc;
  }
  return table;
})();

function crc16(bytes: Uint8Array): number {
  let crc = 0;
  for (const byte of bytes) crc = ((crc << 8) & 0xffff) ^ TABLE[((crc >> 8) ^ byte) & 0xff];
  return crc;
}

/** The hash slot of a key: only the part between the first `{` and the next `}` counts, when it is non-empty. */
export function keySlot(key: string): number {
  const bytes = Buffer.from(key, 'utf8');
  const open = bytes.indexOf(0x7b); // {
  if (open >= 0) {
    const close = bytes.indexOf(0x7d, open + 1); // }
    if (close > open + 1) return crc16(bytes.subarray(open + 1, close)) % CLUSTER_SLOTS;
  }
  return crc16(bytes) % CLUSTER_SLOTS;
}

/** The one slot all `keys` hash to, or an error naming the keys that differ (an operation must be single-slot). */
export function singleSlot(keys: readonly string[]): number {
  if (keys.length === 0) throw new Error('an operation on a Redis Cluster needs at least one key to route it');
  const slot = keySlot(keys[0]);
  const other = keys.find((key) => keySlot(key) !== slot);
  if (other !== undefined) {
    throw new Error(`keys of one operation must hash to one slot (one {hash tag}): "${keys[0]}" is in slot ${slot}, ` +
      `"${other}" in slot ${keySlot(other)}`);
  }
  return slot;
}
