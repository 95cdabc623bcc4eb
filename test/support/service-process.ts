import { ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { compiledService } from './compiled-service';

const ROOT = join(__dirname, '..', '..');

/**
 * The service as a real process: src/main.ts compiled (compiled-service.ts) and run by node, like `npm start`.
 * Its stdout and stderr are captured.
 */
export class ServiceProcess {
  private output = '';
  private readonly waiters: { pattern: RegExp; resolve: () => void }[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  private constructor(private readonly child: ChildProcess) {
    const onData = (chunk: Buffer) => {
      this.output += chunk.toString();
      for (const waiter of [...this.waiters]) {
        if (waiter.pattern.test(this.output)) {
          this.waiters.splice(this.waiters.indexOf(waiter), 1);
          waiter.resolve();
        }
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    this.exited = new Promise((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (code, signal) => resolve({ code, signal }));
    });
  }

  static start(env: NodeJS.ProcessEnv): ServiceProcess {
    const child = spawn(process.execPath, [compiledService()], {
      cwd: ROOT,
      env: { ...process.env, NODE_ENV: 'production', LOG_LEVEL: 'info', LOG_FORMAT: 'json', NO_COLOR: '1', FORCE_COLOR: '0', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return new ServiceProcess(child);
  }

  /** Runs it until it exits by itself (killed after `limitMs`: `timedOut`). */
  static async run(env: NodeJS.ProcessEnv, limitMs = 60_000) {
    const service = ServiceProcess.start(env);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      service.kill('SIGKILL');
    }, limitMs);
    const exit = await service.exited.finally(() => clearTimeout(timer));
    return { ...exit, timedOut, output: service.text, lines: service.lines };
  }

  get pid(): number {
    return this.child.pid!;
  }

  get text(): string {
    return this.output.replace(/\x1b\[[0-9;]*m/g, '');
  }

  get lines(): string[] {
    return this.text.split('\n').filter((line) => line.trim() !== '');
  }

  /** The output lines that are JSON objects (pino's), parsed. */
  get records(): Record<string, any>[] {
    return this.lines.flatMap((line) => {
      try {
        const value = JSON.parse(line);
        return value && typeof value === 'object' ? [value] : [];
      } catch {
        return [];
      }
    });
  }

  /** Resolves when the output so far matches (rejects when the process exits first). */
  waitFor(pattern: RegExp): Promise<void> {
    if (pattern.test(this.output)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.waiters.push({ pattern, resolve });
      void this.exited.then(() => reject(new Error(`exited before printing ${pattern}:\n${this.text}`)));
    });
  }

  /** The port it listens on, from its "listening on :<port>" line. */
  async listening(): Promise<number> {
    await this.waitFor(/listening on :\d+/);
    return Number(/listening on :(\d+)/.exec(this.output)![1]);
  }

  kill(signal: NodeJS.Signals): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
  }
}
