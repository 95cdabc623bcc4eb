import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type Redis from 'ioredis';
import { decodeRedisError } from '../core/errors';
import { assembleLibrary } from './lua-source';
import type { AtomicObserver } from '../core/observer';

type Arg = string | number;

/**
 * One Lua library from `lua/<name>.lua`: loaded with FUNCTION LOAD REPLACE, versioned, and reloaded once when
 * the server answers "Function not found" (restarted without persistence, or FUNCTION FLUSH). That retry is
 * safe: a function that was not found did not run.
 *
 * Each library declares `local LIBRARY_VERSION = '…'` and registers a no-writes `<name>_version` function
 * returning it, so the loader can tell which version the server holds. `fromFile` assembles the body with its
 * prelude (redis/lua-source.ts): the version is then a hash of the assembled source.
 */
export class FunctionLibrary {
  readonly version: string;
  /** Told of every load and reload (metrics). */
  observer?: AtomicObserver;
  private reloading?: Promise<void>;

  constructor(
    private readonly client: Redis,
    readonly name: string,
    private readonly source: string,
  ) {
    const header = /^#!lua name=(\w+)/.exec(source);
    const version = /LIBRARY_VERSION\s*=\s*'([^']+)'/.exec(source);
    if (header?.[1] !== name || !version) {
      throw new Error(`Lua library ${name}: must start with "#!lua name=${name}" and declare LIBRARY_VERSION`);
    }
    this.version = version[1];
  }

  static fromFile(client: Redis, name: string, luaDir = findLuaDir()): FunctionLibrary {
    return new FunctionLibrary(client, name, assembleLibrary(name, luaDir).source);
  }

  /** Loads (or replaces) the library and checks the server now reports this version. */
  async load(reason: 'load' | 'reload' = 'load'): Promise<void> {
    let ok = false;
    try {
      try {
        await this.client.call('FUNCTION', 'LOAD', 'REPLACE', this.source);
      } catch (err) {
        throw decodeRedisError(err);
      }
      const loaded = await this.loadedVersion();
      if (loaded !== this.version) {
        throw new Error(`Lua library ${this.name}: loaded version ${loaded}, expected ${this.version}`);
      }
      ok = true;
    } finally {
      this.observer?.library({ library: this.name, reason, ok });
    }
  }

  /**
   * For deployments where loading functions is a deploy-time right (the service's ACL user has FCALL but not
   * FUNCTION LOAD): checks the server holds this version, and says what to run when it does not.
   */
  async verify(): Promise<void> {
    const loaded = await this.loadedVersion();
    if (loaded !== this.version) {
      throw new Error(`Lua library ${this.name}: the server holds version ${loaded ?? 'none'}, this build needs ` +
        `${this.version}; deploy it with: redis-atomic functions load (npm run functions -- load), or ` +
        `redis-cli -x FUNCTION LOAD REPLACE < dist/functions/${this.name}.lua`);
    }
  }

  /** Loads the library, or only verifies it when `load` is false. */
  prepare(load: boolean): Promise<void> {
    return load ? this.load() : this.verify();
  }

  /** The version the server holds, or null when the library is not loaded. */
  async loadedVersion(): Promise<string | null> {
    try {
      return String(await this.client.call('FCALL_RO', `${this.name}_version`, 0));
    } catch (err) {
      if (isFunctionNotFound(err)) return null;
      throw decodeRedisError(err);
    }
  }

  /** FCALL, reloading the library once if the server lost it. Errors are decoded to typed errors. */
  call(fn: string, keys: readonly string[], args: readonly Arg[]): Promise<unknown> {
    return this.invoke('FCALL', fn, keys, args);
  }

  /** FCALL_RO for functions flagged no-writes (may be served by replicas). */
  callReadOnly(fn: string, keys: readonly string[], args: readonly Arg[] = []): Promise<unknown> {
    return this.invoke('FCALL_RO', fn, keys, args);
  }

  private async invoke(command: string, fn: string, keys: readonly string[], args: readonly Arg[]): Promise<unknown> {
    const name = `${this.name}_${fn}`;
    try {
      return await this.client.call(command, name, keys.length, ...keys, ...args);
    } catch (err) {
      if (!isFunctionNotFound(err)) throw decodeRedisError(err);
    }
    await this.reload();
    try {
      return await this.client.call(command, name, keys.length, ...keys, ...args);
    } catch (err) {
      throw decodeRedisError(err);
    }
  }

  /** Concurrent callers that all found the library missing share one reload. */
  private reload(): Promise<void> {
    this.reloading ??= this.load('reload').finally(() => (this.reloading = undefined));
    return this.reloading;
  }
}

const isFunctionNotFound = (err: unknown): boolean =>
  err instanceof Error && err.message.startsWith('ERR Function not found');

/**
 * The package's `lua/` folder: beside the nearest package.json above this file — the repository's, or the
 * installed package's under node_modules — never the working directory, never a host app's own `lua/`.
 */
export function findLuaDir(from = __dirname): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return join(dir, 'lua');
    if (dirname(dir) === dir) throw new Error(`no package.json above ${from}`);
  }
}
