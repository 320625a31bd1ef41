import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { connect } from 'node:net';
import { freePort } from './vega-process';

const BINARY = 'redis-server';

/**
 * A private `redis-server` on a loopback port, nothing saved to disk: started for a test and
 * stopped after it. `kill()` (SIGKILL) and `start()` again bring it down and back on the same
 * port; `pause()` (SIGSTOP) leaves the port open while nothing answers, a Redis that is "slow".
 */
export class RedisServer {
  private child?: ChildProcess;
  private paused = false;

  private constructor(
    readonly port: number,
    /** More `redis-server` options (a cluster node's). */
    private readonly options: readonly string[] = [],
  ) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  static async start(options: readonly string[] = [], port?: number): Promise<RedisServer> {
    const server = new RedisServer(port ?? (await freePort()), options);
    await server.start();
    return server;
  }

  async start(): Promise<void> {
    const child = spawn(BINARY, ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...this.options], { stdio: 'ignore' });
    this.child = child;
    const deadline = Date.now() + 10_000;
    while (!(await this.answers())) {
      if (child.exitCode !== null) throw new Error(`redis-server exited with code ${child.exitCode}`);
      if (Date.now() > deadline) throw new Error('redis-server did not start within 10 s');
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  /** Gone at once, as a crash: connections drop, the port refuses. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    if (this.paused) this.resume();
    child.kill('SIGKILL');
    await once(child, 'exit');
  }

  /** Stops answering while keeping its connections open (SIGSTOP). */
  pause(): void {
    this.child?.kill('SIGSTOP');
    this.paused = true;
  }

  resume(): void {
    this.child?.kill('SIGCONT');
    this.paused = false;
  }

  stop(): Promise<void> {
    return this.kill();
  }

  /** Whether a PING gets its PONG. */
  private answers(): Promise<boolean> {
    return new Promise((resolve) => {
      const socket = connect(this.port, '127.0.0.1');
      const done = (ok: boolean) => {
        socket.destroy();
        resolve(ok);
      };
      socket.setTimeout(500, () => done(false));
      socket.on('error', () => done(false));
      socket.on('connect', () => socket.write('PING\r\n'));
      socket.on('data', (data) => done(data.toString().startsWith('+PONG')));
    });
  }
}

/** Whether `redis-server` can be run here. */
export function redisAvailable(): boolean {
  return spawnSync(BINARY, ['--version'], { stdio: 'ignore' }).status === 0;
}

/**
 * `describe` for suites that need a real Redis: skipped with a note when `redis-server` is not
 * installed, failed instead when `VEGA_REQUIRE_REDIS=1` (CI installs it).
 */
export function describeWithRedis(name: string, body: () => void): void {
  if (redisAvailable()) return describe(name, body);
  if (process.env.VEGA_REQUIRE_REDIS === '1') {
    describe(name, () => it('needs redis-server (VEGA_REQUIRE_REDIS=1)', () => {
      throw new Error('redis-server is not installed; install the Debian package redis-server');
    }));
    return;
  }
  describe.skip(`${name} (skipped: redis-server is not installed)`, body);
}
