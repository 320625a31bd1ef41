import { ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(__dirname, '..');

export interface Running {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as { port: number };
  await new Promise((done) => server.close(done));
  return port;
}

function stopper(child: ChildProcess, cleanup: () => void = () => undefined): () => Promise<void> {
  return () =>
    new Promise((done) => {
      if (child.exitCode !== null) return done(cleanup());
      child.once('exit', () => done(cleanup()));
      child.kill('SIGTERM');
    });
}

/** A TypeScript entry point in its own process, once it prints `listening on <url>`. */
async function startListening(name: string, args: string[]): Promise<Running> {
  const child = spawn(process.execPath, ['-r', '@swc-node/register', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise<string>((done, fail) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      const match = /listening on (\S+)/.exec(chunk.toString());
      if (match) done(match[1]);
    });
    child.once('exit', (code) => fail(new Error(`${name} exited with ${code}`)));
  });
  return { url, pid: child.pid!, stop: stopper(child) };
}

/** The fake Ollama server in its own process, so it does not share an event loop with the load. */
export const startFakeOllama = (args: string[] = []): Promise<Running> =>
  startListening('fake-ollama', ['test/support/fake-ollama.main.ts', '--port', '0', ...args]);

/** The framework-free proxy of `reference-proxy.ts`, in front of `upstream`. */
export const startReferenceProxy = (upstream: string): Promise<Running> =>
  startListening('reference proxy', ['bench/reference-proxy.ts', '--upstream', upstream]);

/** The Node flags of `npm start` (`node <flags> dist/src/main.js`), so Vega runs here as it does there. */
function startFlags(): string[] {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { main: string; scripts: { start: string } };
  const [node, ...args] = pkg.scripts.start.split(/\s+/);
  if (node !== 'node' || args.pop() !== pkg.main) throw new Error(`unexpected start script: ${pkg.scripts.start}`);
  return args;
}

/**
 * Vega from `dist/` (run `npm run build` first), with a fresh data directory, started as
 * `npm start` starts it; `VEGA_NODE_ARGS` adds flags after those.
 */
export async function startVega(env: Record<string, string>): Promise<Running & { apiKey: string }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'vega-bench-'));
  const port = await freePort();
  const apiKey = 'bench-key-0123456789abcdef';
  const nodeArgs = [...startFlags(), ...(process.env.VEGA_NODE_ARGS?.split(' ').filter(Boolean) ?? [])];
  const child = spawn(process.execPath, [...nodeArgs, 'dist/src/main.js'], {
    cwd: ROOT,
    env: { ...process.env, PORT: String(port), VEGA_DATA_DIR: dataDir, API_KEY: apiKey, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  // VEGA_STDOUT=<file> keeps Vega's output (logs, --trace-gc lines) for a look afterwards.
  if (process.env.VEGA_STDOUT) child.stdout!.pipe(createWriteStream(process.env.VEGA_STDOUT));
  else child.stdout!.resume();
  // Ready when /healthz answers (whatever LOG_LEVEL prints).
  let exited: number | null = null;
  child.once('exit', (code) => (exited = code ?? -1));
  for (;;) {
    if (exited !== null) throw new Error(`vega exited with ${exited}`);
    const ok = await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok, () => false);
    if (ok) break;
    await new Promise((wait) => setTimeout(wait, 50));
  }
  return {
    url: `http://127.0.0.1:${port}`,
    pid: child.pid!,
    apiKey,
    stop: stopper(child, () => rmSync(dataDir, { recursive: true, force: true })),
  };
}

/** Resident set size of a process, in MB (Linux). */
export function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return kb / 1024;
}

/** The fields of /proc/<pid>/stat after the command name: [0] is stat(5)'s field 3 (state). */
function statFields(pid: number | string): string[] {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(') ') + 2).split(' ');
}

/** CPU time (user + system, all threads) a process has used so far, in ms (Linux). */
export function cpuTimeMs(pid: number): number {
  const fields = statFields(pid);
  // utime and stime are fields 14 and 15 of stat(5), in clock ticks (100 per second on Linux).
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

/** The parent of a process (Linux). */
export function parentPid(pid: number): number {
  return Number(statFields(pid)[1]);
}

/**
 * CPU time of a process and all its children so far, in ms (Linux): its own, its ended children's
 * (cutime, cstime: counted once it has reaped them) and its live children's, e.g. a PostgreSQL
 * server's postmaster and backends.
 */
export function processTreeCpuMs(pid: number): number {
  const own = statFields(pid);
  let ticks = Number(own[11]) + Number(own[12]) + Number(own[13]) + Number(own[14]);
  for (const child of children(pid)) ticks += Number(child.stat[11]) + Number(child.stat[12]);
  return (ticks * 1000) / 100;
}

/** A process's live children (Linux): pid, stat fields (as `statFields`) and command line. */
export function children(pid: number): { pid: number; stat: string[]; command: string }[] {
  const found: { pid: number; stat: string[]; command: string }[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const fields = statFields(entry);
      if (Number(fields[1]) === pid) found.push({ pid: Number(entry), stat: fields, command: readFileSync(`/proc/${entry}/cmdline`, 'utf8') });
    } catch {
      // The process ended between the listing and the read.
    }
  }
  return found;
}
