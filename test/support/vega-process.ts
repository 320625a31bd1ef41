import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { tempDir } from './test-app';

const ROOT = join(__dirname, '..', '..');

/** A loopback port that was free a moment ago. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/**
 * The real entry point (`src/main.ts`) in its own process, as `npm start` runs it, with a data
 * directory that outlives the process (so a test can read the database after the exit).
 */
export class VegaProcess {
  readonly apiKey = 'process-test-key-0123456789abcdef';
  url = '';
  stdout = '';
  stderr = '';
  private child?: ChildProcess;
  private exit?: Promise<Exit>;
  private readonly data = tempDir('vega-proc-');

  get dataDir(): string {
    return this.data.dir;
  }

  get dbPath(): string {
    return join(this.data.dir, 'vega.db');
  }

  async start(env: Record<string, string>, startTimeoutMs = 30_000): Promise<void> {
    const child = await this.spawn(env);
    const deadline = Date.now() + startTimeoutMs;
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`Vega exited: ${this.stderr}${this.stdout}`);
      if (Date.now() > deadline) throw new Error(`Vega did not start: ${this.stderr}${this.stdout}`);
      if (await fetch(`${this.url}/healthz`).then((res) => res.ok, () => false)) return;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** Starts the process without waiting for it to serve (for a start that is meant to fail). */
  async spawn(env: Record<string, string>): Promise<ChildProcess> {
    const port = await freePort();
    this.url = `http://127.0.0.1:${port}`;
    const child = spawn(process.execPath, ['-r', '@swc-node/register', 'src/main.ts'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', VEGA_DATA_DIR: this.data.dir, HOST: '127.0.0.1', PORT: String(port), API_KEY: this.apiKey, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    this.exit = once(child, 'exit').then(([code, signal]) => ({ code: code as number | null, signal: signal as NodeJS.Signals | null }));
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (this.stdout += chunk));
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (this.stderr += chunk));
    return child;
  }

  signal(signal: NodeJS.Signals): void {
    this.child!.kill(signal);
  }

  /** Resolves when the process has exited, or rejects after `timeoutMs`. */
  async exited(timeoutMs = 30_000): Promise<Exit> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`Vega did not exit within ${timeoutMs} ms: ${this.stderr}${this.stdout}`)), timeoutMs);
    });
    try {
      return await Promise.race([this.exit!, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Kills the process if it still runs and removes the data directory. */
  async dispose(): Promise<void> {
    const child = this.child;
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await this.exit;
    }
    this.data.remove();
  }

  /** The JSON log lines of stdout. */
  logLines(): Array<Record<string, unknown>> {
    return this.stdout
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  }
}
