import { spawn } from 'node:child_process';
import { join } from 'node:path';

export const ROOT = join(__dirname, '..', '..');
/** Generous: ts-node compiles the entry point first, on a loaded 2-core machine. */
export const PROCESS_LIMIT_MS = 60_000;

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Set when it had to be killed: it did not exit by itself within PROCESS_LIMIT_MS. */
  timedOut: boolean;
}

/** Runs a command (default: the package's CLI, src/cli.ts through ts-node, as `npm run functions` does) to its end. */
export function runProcess(command: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: ROOT,
      env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0', REDIS_URL: '', REDIS_USERNAME: '', REDIS_PASSWORD: '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, PROCESS_LIMIT_MS);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, timedOut });
    });
  });
}

/** `redis-atomic <args>` — the package's bin, run from source. */
export const runCli = (args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliRun> =>
  runProcess(process.execPath, ['-r', 'ts-node/register/transpile-only', '-r', 'tsconfig-paths/register', 'src/cli.ts', ...args], env);
