import { decodeRedisError, KernelErrorCode, AtomicError, KeySpace } from '@kernel/core';
import { FunctionLibrary, RedisClient } from '@kernel/redis';
import type {
  Decision, DecidedBy, EscrowStore, Leg, Marker, PostedLegs, PostResult, TxView, Vote, VoidResult,
} from '../escrow.port';
import { EscrowKeys, SpreadRouting } from '../spread-keys';

export interface EscrowLimits {
  historyLimit: number;
  eventsMaxLen: number;
  /** How long done markers and finished records are kept (the idempotency window). */
  retentionSeconds: number;
}

/** The escrow store on Redis: one FCALL of lua/escrow.lua per step, each on the one shard it concerns. */
export class RedisEscrowStore implements EscrowStore {
  readonly shards: number;
  private readonly keys: EscrowKeys[];

  constructor(private readonly lib: FunctionLibrary, private readonly client: RedisClient, prefix: string, routing: SpreadRouting,
    private readonly limits: EscrowLimits) {
    this.shards = routing.spread;
    this.keys = routing.tags.map((tag) => new EscrowKeys(new KeySpace(prefix, tag)));
  }

  async begin(bucket: number, txid: string, fingerprint: string, participants: number[], timeoutMs: number, graceMs: number): Promise<TxView> {
    const k = this.keys[bucket];
    return toTx(await this.call('begin', [k.tx(txid), k.due], [txid, fingerprint, participants.join(','), timeoutMs, graceMs]))!;
  }

  async hold(shard: number, txid: string, deadlineMs: number, participants: number[], legs: Leg[]): Promise<Vote> {
    const k = this.keys[shard];
    const accounts: string[] = [];
    const position = new Map<string, number>();
    for (const leg of legs) {
      if (!position.has(leg.account)) {
        accounts.push(leg.account);
        position.set(leg.account, accounts.length);
      }
    }
    const args: (string | number)[] = [txid, deadlineMs, participants.join(','), this.limits.retentionSeconds, accounts.length, ...accounts];
    for (const leg of legs) {
      args.push(position.get(leg.account)!, leg.index, leg.itemId, leg.amount, leg.counterparty, leg.floor ?? '');
    }
    const reply = (await this.call('hold', [k.holds, k.done(txid), ...accounts.map((a) => k.account(a))], args)) as unknown[];
    return toVote(reply);
  }

  async decide(bucket: number, txid: string, wanted: 'COMMITTED' | 'ABORTED', reason: string, by: DecidedBy, participants: number[],
    graceMs: number): Promise<Decision> {
    const k = this.keys[bucket];
    const [state, why] = (await this.call('decide', [k.tx(txid), k.due],
      [txid, wanted, reason, by, graceMs, this.limits.retentionSeconds, by === 'evidence' ? participants.join(',') : ''])) as string[];
    return { state: state as Decision['state'], reason: String(why ?? '') };
  }

  async post(shard: number, txid: string): Promise<PostResult> {
    const reply = await this.resolve('post', shard, txid);
    if (reply[0] === 'POSTED') return { kind: 'POSTED', posted: toPosted(reply) };
    if (reply[0] === 'CONFLICT') return { kind: 'CONFLICT', with: String(reply[1]) };
    return { kind: 'MISSING' };
  }

  async void(shard: number, txid: string): Promise<VoidResult> {
    const reply = await this.resolve('void', shard, txid);
    if (reply[0] === 'VOIDED') return { kind: 'VOIDED' };
    return { kind: 'CONFLICT', with: String(reply[1]) };
  }

  async finish(bucket: number, txid: string, outcome: string): Promise<'FINISHED' | 'MISSING' | 'PREPARING'> {
    const k = this.keys[bucket];
    const [state] = (await this.call('finish', [k.tx(txid), k.due], [txid, outcome, this.limits.retentionSeconds])) as string[];
    return state as 'FINISHED' | 'MISSING' | 'PREPARING';
  }

  async tx(bucket: number, txid: string): Promise<TxView | null> {
    return toTx(await this.read('tx', [this.keys[bucket].tx(txid)], []));
  }

  async due(bucket: number, limit: number): Promise<string[]> {
    return (await this.read('due', [this.keys[bucket].due], [limit])) as string[];
  }

  async marker(shard: number, txid: string): Promise<Marker> {
    const value = await this.client.get(this.keys[shard].done(txid)).catch((err) => Promise.reject(decodeRedisError(err)));
    if (value === null) return null;
    if (value.startsWith('P|')) return { kind: 'POSTED' };
    if (value === 'V') return { kind: 'VOIDED' };
    const refused = /^R\|(\d+)\|(\d+)\|(.*)$/s.exec(value);
    if (!refused) throw new AtomicError(KernelErrorCode.STORE_CORRUPTED, `unreadable done marker of ${txid} on shard ${shard}`);
    return { kind: 'REFUSED', index: Number(refused[1]), rank: Number(refused[2]), error: refused[3] };
  }

  async audit(shard: number, accounts: string[]): Promise<string[]> {
    const k = this.keys[shard];
    const reply = (await this.read('audit', [k.holds, ...accounts.map((a) => k.account(a))], accounts)) as string[];
    return reply[0] === 'OK' ? [] : reply.slice(1);
  }

  async holds(shard: number): Promise<Map<string, string>> {
    const all = new Map<string, string>();
    let cursor = '0';
    do {
      const reply = (await this.read('holds', [this.keys[shard].holds], [cursor, 1000])) as string[];
      cursor = reply[0];
      for (let i = 1; i < reply.length; i += 2) all.set(reply[i], reply[i + 1]);
    } while (cursor !== '0');
    return all;
  }

  /**
   * Post / void: the hold's accounts are read first so the FCALL declares every key it touches; the function checks
   * they are the hold's (a hold that appeared meanwhile answers KEYS: read again).
   */
  private async resolve(fn: 'post' | 'void', shard: number, txid: string): Promise<unknown[]> {
    const k = this.keys[shard];
    for (let attempt = 0; attempt < 5; attempt++) {
      const hold = await this.client.hget(k.holds, txid).catch((err) => Promise.reject(decodeRedisError(err)));
      const accounts = hold ? holdAccounts(hold) : [];
      const keys = [k.holds, k.done(txid), k.events, ...accounts.map((a) => k.account(a)), ...accounts.map((a) => k.history(a))];
      const reply = (await this.call(fn, keys, [txid, this.limits.retentionSeconds, this.limits.historyLimit, this.limits.eventsMaxLen])) as
        unknown[];
      if (reply[0] !== 'KEYS') return reply;
    }
    throw new AtomicError(KernelErrorCode.CONFLICT, `the hold of ${txid} kept changing; retry`);
  }

  private call(fn: string, keys: string[], args: (string | number)[]): Promise<unknown> {
    return this.lib.call(fn, keys, args);
  }

  private read(fn: string, keys: string[], args: (string | number)[]): Promise<unknown> {
    return this.lib.callReadOnly(fn, keys, args);
  }
}

/** The account ids of a stored hold (lua/escrow.lua: <deadline>|<participants>|<id>:<X>:<Y>:<net>;…|<legs>). */
export const holdAccounts = (hold: string): string[] => hold.split('|')[2].split(';').map((a) => a.split(':')[0]);

function toTx(reply: unknown): TxView | null {
  const values = reply as unknown[];
  if (values[0] === 'NONE') return null;
  const [state, deadline, finished, reason, outcome, participants] = values;
  return {
    state: state as TxView['state'], deadlineMs: Number(deadline), finished: Number(finished) === 1, reason: String(reason ?? ''),
    outcome: String(outcome ?? ''), participants: String(participants ?? '') === '' ? [] : String(participants).split(',').map(Number),
  };
}

function toPosted(reply: unknown[]): PostedLegs {
  const legs: PostedLegs['legs'] = [];
  for (let i = 2; i < reply.length; i += 3) {
    legs.push({ index: Number(reply[i]), role: reply[i + 1] as 'o' | 'i', balance: Number(reply[i + 2]) });
  }
  return { ms: Number(reply[1]), legs };
}

function toVote(reply: unknown[]): Vote {
  switch (reply[0]) {
    case 'HELD': return { kind: 'HELD' };
    case 'VOIDED': return { kind: 'VOIDED' };
    case 'POSTED': return { kind: 'POSTED', posted: toPosted(reply) };
    case 'REFUSED': return { kind: 'REFUSED', index: Number(reply[1]), rank: Number(reply[2]), error: String(reply[3]) };
    default: throw new AtomicError(KernelErrorCode.STORE_CORRUPTED, `unexpected hold reply ${String(reply[0])}`);
  }
}
