import Redis from 'ioredis';
import { isAtomicError } from '@kernel/core';
import { clientOptions, FunctionLibrary, RedisConnectionOptions } from '@kernel/redis';
import { redisDeployEnv } from './deploy-env';

/** The Lua libraries this package ships (one per bounded context), in load order. */
export const LUA_LIBRARIES = ['accounts', 'inventory', 'orders', 'kv', 'escrow'] as const;

/** Exit codes of `redis-atomic functions …`. */
export const EXIT = { OK: 0, MISMATCH: 1, USAGE: 2, UNREACHABLE: 3 } as const;

export const FUNCTIONS_USAGE = `usage: redis-atomic functions <load|verify|list> [--dry-run] [--url redis://…]

  load      deploy the Lua libraries (FUNCTION LOAD REPLACE) and check the server then holds this build's versions
  verify    check the server holds this build's version of every library (changes nothing)
  list      the libraries on the server, with their versions and functions (changes nothing)

  --dry-run       load: say what would be loaded, load nothing
  --url URL       the Redis to deploy to (default: $REDIS_URL, else redis://127.0.0.1:6379); rediss:// for TLS
  Credentials and TLS come from the URL or REDIS_USERNAME, REDIS_PASSWORD, REDIS_TLS, REDIS_TLS_CA_FILE.
  The user needs FUNCTION LOAD (load), FUNCTION LIST (list) and FCALL_RO (all three): see the README's ACL recipe.

exit codes: 0 ok · 1 a library is missing or at another version (verify), or loading failed · 2 usage
            3 Redis unreachable, authentication failed or the user lacks a permission (NOPERM)`;

interface Parsed {
  command: 'load' | 'verify' | 'list';
  dryRun: boolean;
  url?: string;
}

class UsageError extends Error {}

function parse(argv: string[]): Parsed | 'help' {
  let command: Parsed['command'] | undefined;
  let dryRun = false;
  let url: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--help' || arg === '-h' || arg === 'help') return 'help';
    if (arg === '--dry-run') dryRun = true;
    else if (arg === '--url' || arg.startsWith('--url=')) {
      url = arg === '--url' ? argv[++i] : arg.slice('--url='.length);
      if (!url) throw new UsageError('--url needs a value');
      if (!/^rediss?:\/\//.test(url)) throw new UsageError(`--url must start with redis:// or rediss:// (got "${url}")`);
    } else if (arg.startsWith('-')) throw new UsageError(`unknown option ${arg}`);
    else if (command) throw new UsageError(`unexpected argument ${arg}`);
    else if (arg === 'load' || arg === 'verify' || arg === 'list') command = arg;
    else throw new UsageError(`unknown command "${arg}"`);
  }
  if (!command) throw new UsageError('which command: load, verify or list?');
  return { command, dryRun, url };
}

export interface Output {
  out(line: string): void;
  err(line: string): void;
}

const consoleOutput: Output = { out: (line) => console.log(line), err: (line) => console.error(line) };

/**
 * `redis-atomic functions load|verify|list`: deploys the Lua libraries through FunctionLibrary (the same loader
 * and version check the service uses), so a deploy user with FUNCTION LOAD can install them and the service
 * can run with REDIS_LOAD_FUNCTIONS=false under a user that may only FCALL. Returns the exit code.
 */
export async function functionsCommand(argv: string[], env: NodeJS.ProcessEnv = process.env, io: Output = consoleOutput,
  luaDir?: string): Promise<number> {
  let parsed: Parsed | 'help';
  let connection: RedisConnectionOptions;
  try {
    parsed = parse(argv);
    if (parsed === 'help') {
      io.out(FUNCTIONS_USAGE);
      return EXIT.OK;
    }
    const { tls } = redisDeployEnv(env);
    connection = {
      url: parsed.url ?? (env.REDIS_URL || 'redis://127.0.0.1:6379'),
      username: env.REDIS_USERNAME || undefined,
      password: env.REDIS_PASSWORD || undefined,
      tls: tls ?? (env.REDIS_TLS ? env.REDIS_TLS === 'true' : undefined),
      // One attempt: a deploy step should fail fast and say why, not retry in the background.
      redis: { retryStrategy: () => null, enableReadyCheck: false },
    };
  } catch (err) {
    io.err(`redis-atomic functions: ${(err as Error).message}\n\n${FUNCTIONS_USAGE}`);
    return EXIT.USAGE;
  }
  const where = redactedUrl(connection.url!);
  // Our own client (the service's options, one attempt) so the first error it reports — WRONGPASS, a TLS
  // certificate, a refused connection — is the one shown, whatever the connection does next.
  const options = clientOptions(connection);
  const client = new Redis(options);
  let cause: Error | undefined;
  client.on('error', (err: Error) => (cause ??= err));
  try {
    await client.connect();
    // Reachability and authentication, before anything else: any failure here is "cannot use this Redis" (3).
    await client.ping();
  } catch (err) {
    client.disconnect();
    io.err(`redis-atomic functions: ${where}: Cannot reach Redis at ${options.host}:${options.port}: ${(cause ?? (err as Error)).message}`);
    return EXIT.UNREACHABLE;
  }
  try {
    const libraries = LUA_LIBRARIES.map((name) => FunctionLibrary.fromFile(client, name, luaDir));
    if (parsed.command === 'load') return await load(libraries, parsed.dryRun, where, io);
    if (parsed.command === 'verify') return await verify(libraries, where, io);
    return await list(client, libraries, where, io);
  } catch (err) {
    const message = (err as Error).message ?? String(err);
    if (isAtomicError(err, 'STORE_UNAVAILABLE') || /\b(NOPERM|WRONGPASS|NOAUTH)\b/.test(message)) {
      io.err(`redis-atomic functions: ${where}: ${message}`);
      return EXIT.UNREACHABLE;
    }
    io.err(`redis-atomic functions: ${where}: ${message}`);
    return EXIT.MISMATCH;
  } finally {
    client.disconnect();
  }
}

async function load(libraries: FunctionLibrary[], dryRun: boolean, where: string, io: Output): Promise<number> {
  const before = await Promise.all(libraries.map((library) => library.loadedVersion()));
  io.out(dryRun ? `dry run: would load into ${where} (nothing is loaded)` : `loading into ${where}`);
  for (const [i, library] of libraries.entries()) {
    const change = `${before[i] ?? 'none'} → ${library.version}${before[i] === library.version ? ' (same version, replaced)' : ''}`;
    if (dryRun) {
      io.out(`  would load ${library.name}: ${change}`);
      continue;
    }
    await library.load(); // FUNCTION LOAD REPLACE, then checks the server reports this version
    io.out(`  loaded ${library.name}: ${change}`);
  }
  io.out(dryRun ? `dry run: ${libraries.length} libraries would be loaded` : `ok: ${libraries.length} libraries loaded and verified`);
  return EXIT.OK;
}

async function verify(libraries: FunctionLibrary[], where: string, io: Output): Promise<number> {
  let bad = 0;
  io.out(`verifying ${where}`);
  for (const library of libraries) {
    const loaded = await library.loadedVersion();
    if (loaded === library.version) io.out(`  ok ${library.name} ${loaded}`);
    else {
      bad++;
      io.out(loaded === null ? `  MISSING ${library.name}: not loaded, this build needs ${library.version}`
        : `  MISMATCH ${library.name}: the server holds ${loaded}, this build needs ${library.version}`);
    }
  }
  if (bad) {
    io.out(`${bad} of ${libraries.length} libraries missing or at another version: run \`redis-atomic functions load\``);
    return EXIT.MISMATCH;
  }
  io.out(`ok: all ${libraries.length} libraries at this build's versions`);
  return EXIT.OK;
}

async function list(client: Redis, libraries: FunctionLibrary[], where: string, io: Output): Promise<number> {
  const reply = (await client.call('FUNCTION', 'LIST')) as unknown[][];
  const ours = new Map(libraries.map((library) => [library.name, library]));
  io.out(`libraries on ${where}:`);
  if (reply.length === 0) io.out('  (none)');
  for (const entry of reply) {
    const field = (name: string) => entry[entry.indexOf(name) + 1];
    const name = String(field('library_name'));
    const functions = (field('functions') as unknown[][]).map((fn) => String(fn[fn.indexOf('name') + 1])).sort();
    const library = ours.get(name);
    const version = library ? await library.loadedVersion() : undefined;
    const status = library ? ` version ${version ?? '?'} (this build: ${library.version}${version === library.version ? '' : ', DIFFERS'})`
      : ' (not ours)';
    io.out(`  ${name}${status}: ${functions.length} functions: ${functions.join(' ')}`);
  }
  for (const library of libraries) if (!reply.some((entry) => entry[entry.indexOf('library_name') + 1] === library.name)) {
    io.out(`  ${library.name}: not loaded (this build: ${library.version})`);
  }
  return EXIT.OK;
}

/** The URL without its password, for messages. */
function redactedUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString().replace(/\/$/, '');
  } catch {
    return url;
  }
}
