import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const ROOT = resolve(__dirname, '../..');
const REGISTER = require.resolve('@swc-node/register');

export interface VegaResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface VegaOptions {
  env?: Record<string, string>;
  /** Run the built bin shim (`bin/vega.js`) instead of the TypeScript entry. */
  built?: boolean;
  cwd?: string;
}

/**
 * Starts the real `vega` process: the TypeScript entry through @swc-node/register (so a test
 * never runs a stale build), or the built shim. The environment is clean (no inherited
 * FORCE_COLOR, API keys or .env): only PATH, HOME and what the test gives.
 */
export function spawnVega(args: string[], options: VegaOptions = {}): ChildProcess {
  const entry = options.built ? [join(ROOT, 'bin/vega.js')] : ['-r', REGISTER, join(ROOT, 'src/cli.ts')];
  return spawn(process.execPath, [...entry, ...args], {
    cwd: options.cwd ?? ROOT,
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: process.env.HOME ?? '/tmp',
      SWC_NODE_PROJECT: join(ROOT, 'tsconfig.json'),
      LOG_LEVEL: 'fatal',
      LLM_RETRY_BACKOFF: '0.01',
      ...options.env,
    },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}

/** Collects a child's output and waits for it to exit. */
export function finished(child: ChildProcess): Promise<VegaResult> {
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  return new Promise((done, fail) => {
    child.once('error', fail);
    child.once('close', (code, signal) => done({ code, signal, stdout, stderr }));
  });
}

/** Runs `vega args…` to the end, with `input` on stdin (then closed). */
export function runVega(args: string[], options: VegaOptions & { input?: string } = {}): Promise<VegaResult> {
  const child = spawnVega(args, options);
  const result = finished(child);
  child.stdin!.end(options.input ?? '');
  return result;
}

/**
 * Runs `vega args…` with its stdout read by a reader that closes its end after `bytes` bytes,
 * as `vega … | head -c N` does; `stdout` is what the reader got before it left.
 */
export function runVegaClosingStdoutAfter(bytes: number, args: string[], options: VegaOptions & { input?: string } = {}): Promise<VegaResult> {
  const child = spawnVega(args, options);
  let received = 0;
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    stdout += chunk.toString('utf8');
    received += chunk.length;
    if (received >= bytes) child.stdout!.destroy();
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  child.stdin!.end(options.input ?? '');
  return new Promise((done, fail) => {
    child.once('error', fail);
    child.once('close', (code, signal) => done({ code, signal, stdout, stderr }));
  });
}

/** Resolves once `read()` contains `text`, polling the child's collected output. */
export async function waitForOutput(read: () => string, text: string, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!read().includes(text)) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${JSON.stringify(text)}; got ${JSON.stringify(read())}`);
    await new Promise((wait) => setTimeout(wait, 20));
  }
}

/** Compiles `src/` into `dist/` when the build is missing or older than a source file (tsc is incremental). */
export function ensureBuilt(): void {
  const built = join(ROOT, 'dist/src');
  if (existsSync(join(built, 'cli.js')) && newestMtime(built) >= newestMtime(join(ROOT, 'src'))) return;
  execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'inherit' });
}

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

export const ANSI = /\x1b\[/;
