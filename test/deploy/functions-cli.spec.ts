/**
 * `redis-atomic functions load|verify|list` against a private redis-server: what it prints, what it changes, its exit
 * codes. The real CLI process (src/cli.ts through ts-node, like the package's bin and `npm run functions`) for every
 * exit code; the remaining variations call the same command in-process (functionsCommand), which is what the
 * process runs, to keep the suite fast on a loaded machine.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type Redis from 'ioredis';
import { freePort, RedisServer } from '@kernel/testing';
import { functionsCommand, LUA_LIBRARIES } from '../../src/cli-functions';
import { PROCESS_LIMIT_MS, ROOT, runCli, runProcess } from '../support/cli';

jest.setTimeout(4 * PROCESS_LIMIT_MS);

/** The command in-process, its output captured like the process' stdout and stderr. */
async function command(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await functionsCommand(args, env, { out: (line) => (stdout += line + '\n'), err: (line) => (stderr += line + '\n') });
  return { code, stdout, stderr };
}

const libraryNames = async (client: Redis): Promise<string[]> =>
  ((await client.call('FUNCTION', 'LIST')) as unknown[][]).map((entry) => String(entry[entry.indexOf('library_name') + 1])).sort();

it('deploys every library the modules load (each `libraries.get(name)` in src/ is in LUA_LIBRARIES)', () => {
  const files = (readdirSync(join(ROOT, 'src'), { recursive: true }) as string[]).filter((f) => f.endsWith('.ts'));
  const used = new Set(files.flatMap((f) => [...readFileSync(join(ROOT, 'src', f), 'utf8').matchAll(/libraries\.get\('(\w+)'\)/g)].map((m) => m[1])));
  expect(used.size).toBeGreaterThan(0);
  expect([...used].sort()).toEqual([...LUA_LIBRARIES].sort());
});

describe('redis-atomic functions (the CLI process)', () => {
  let server: RedisServer;
  let admin: Redis;

  beforeAll(async () => {
    server = await RedisServer.start();
    admin = server.client();
  });

  afterAll(async () => {
    await server?.stop();
  });

  it('verify on an empty server exits 1 and names every missing library; load --dry-run says what it would load and loads nothing', async () => {
    const [verify, dry] = await Promise.all([runCli(['functions', 'verify', '--url', server.url]), runCli(['functions', 'load', '--dry-run', '--url', server.url])]);
    expect(verify.code).toBe(1);
    for (const name of LUA_LIBRARIES) expect(verify.stdout).toMatch(new RegExp(`MISSING ${name}: not loaded, this build needs \\S+`));
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain('dry run');
    for (const name of LUA_LIBRARIES) expect(dry.stdout).toMatch(new RegExp(`would load ${name}: none → \\S+`));
    expect(await libraryNames(admin)).toEqual([]);
  });

  it('load deploys every library (exit 0); verify then exits 0; list shows them with their functions', async () => {
    const load = await runCli(['functions', 'load', `--url=${server.url}`]);
    expect({ code: load.code, stderr: load.stderr }).toEqual({ code: 0, stderr: '' });
    for (const name of LUA_LIBRARIES) expect(load.stdout).toMatch(new RegExp(`loaded ${name}: none → \\S+`));
    expect(await libraryNames(admin)).toEqual([...LUA_LIBRARIES].sort());
    // The functions really work: the version function of each library answers.
    for (const name of LUA_LIBRARIES) expect(String(await admin.call('FCALL_RO', `${name}_version`, 0))).toMatch(/\S/);

    const [verify, list] = await Promise.all([command(['verify', '--url', server.url]), command(['list', '--url', server.url])]);
    expect(verify.code).toBe(0);
    for (const name of LUA_LIBRARIES) expect(verify.stdout).toMatch(new RegExp(`ok ${name} \\S+`));
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/accounts version \S+ \(this build: \S+\): \d+ functions: .*accounts_transfer/);
    expect(list.stdout).toMatch(/orders version .*orders_place/);
    expect(list.stdout).not.toContain('DIFFERS');
  });

  it('another version on the server: verify exits 1 (MISMATCH), list says DIFFERS, load replaces it; a foreign library is left alone', async () => {
    await admin.call('FUNCTION', 'LOAD', 'REPLACE',
      "#!lua name=kv\nredis.register_function{function_name='kv_version', callback=function() return 'old-build' end, flags={'no-writes'}}");
    await admin.call('FUNCTION', 'LOAD', "#!lua name=otherapp\nredis.register_function('otherapp_hello', function() return 'hi' end)");
    const [verify, list] = await Promise.all([command(['verify', '--url', server.url]), command(['list', '--url', server.url])]);
    expect(verify.code).toBe(1);
    expect(verify.stdout).toMatch(/MISMATCH kv: the server holds old-build, this build needs \S+/);
    expect(verify.stdout).toMatch(/ok accounts /);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/kv version old-build \(this build: \S+, DIFFERS\)/);
    expect(list.stdout).toMatch(/otherapp \(not ours\): 1 functions: otherapp_hello/);

    const load = await command(['load', '--url', server.url]);
    expect(load.code).toBe(0);
    expect(load.stdout).toMatch(/loaded kv: old-build → \S+/);
    expect((await command(['verify', '--url', server.url])).code).toBe(0);
    expect(await libraryNames(admin)).toEqual([...LUA_LIBRARIES, 'otherapp'].sort());
  });

  it('usage errors exit 2 and print the usage', async () => {
    const cases: [string[], RegExp][] = [
      [['functions'], /which command/],
      [['functions', 'deploy'], /unknown command "deploy"/],
      [['functions', 'load', '--url'], /--url needs a value/],
      [['functions', 'load', '--force'], /unknown option --force/],
      [['functions', 'verify', '--url', 'http://127.0.0.1:1'], /--url must start with redis:\/\//],
    ];
    const runs = await Promise.all(cases.map(([args], i) => (i === 0 ? runCli(args) : command(args.slice(1)))));
    runs.forEach((run, i) => {
      expect({ args: cases[i][0], code: run.code }).toEqual({ args: cases[i][0], code: 2 });
      expect(run.stderr).toMatch(cases[i][1]);
      expect(run.stderr).toContain('usage: redis-atomic functions');
    });
    const help = await command(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/exit codes: 0 ok · 1 .* · 2 usage/);
  });

  it('an unreachable Redis, a wrong password and a user without FUNCTION LOAD exit 3; nothing is loaded', async () => {
    const empty = await RedisServer.start();
    try {
      const emptyAdmin = empty.client();
      await emptyAdmin.call('ACL', 'SETUSER', 'reader', 'on', '>reader-pw', '-@all', '+ping', '+fcall_ro');
      const nowhere = `redis://127.0.0.1:${await freePort()}`;
      const [unreachable, wrongPassword, noRight] = await Promise.all([
        runCli(['functions', 'verify', '--url', nowhere]),
        command(['load', '--url', empty.url.replace('redis://', 'redis://reader:wrong@')]),
        command(['load', '--url', empty.url], { REDIS_USERNAME: 'reader', REDIS_PASSWORD: 'reader-pw' }),
      ]);
      expect(unreachable.code).toBe(3);
      expect(unreachable.stderr).toMatch(/Cannot reach Redis at 127\.0\.0\.1:\d+/);
      expect(wrongPassword.code).toBe(3);
      expect(wrongPassword.stderr).toMatch(/WRONGPASS/);
      expect(wrongPassword.stderr).not.toContain('wrong@'); // the password is not echoed
      expect(noRight.code).toBe(3);
      expect(noRight.stderr).toMatch(/NOPERM/);
      expect(await libraryNames(emptyAdmin)).toEqual([]);
    } finally {
      await empty.stop();
    }
  });

  it('`npm run functions -- verify` runs the same command from the repository', async () => {
    const run = await runProcess('npm', ['run', '--silent', 'functions', '--', 'verify', '--url', server.url]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(new RegExp(`ok: all ${LUA_LIBRARIES.length} libraries at this build.s versions`));
  });
});
