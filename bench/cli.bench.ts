/**
 * Start-up cost of the built `vega` command (run `npm run build` first): wall time of whole
 * processes, as a user sees it, for `vega --help` and `vega history --limit 20` on a database
 * with BENCH_CLI_ROWS conversations. Prints min / p50 / p90 / max over BENCH_CLI_RUNS runs, with
 * Node's compile cache (as `bin/vega.js` enables it) and, measured in the same run for comparison,
 * without it (NODE_DISABLE_COMPILE_CACHE=1).
 *
 *   npm run build && npm run bench:cli
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { seedConversations } from '../test/support/seed';

const ROOT = resolve(__dirname, '..');
const BIN = join(ROOT, 'bin/vega.js');
const RUNS = Number(process.env.BENCH_CLI_RUNS ?? 20);
const ROWS = Number(process.env.BENCH_CLI_ROWS ?? 1000);

const TARGETS: { args: string[]; targetMs: number }[] = [
  { args: ['--help'], targetMs: 400 },
  { args: ['history', '--limit', '20'], targetMs: 800 },
  { args: ['history', '--limit', '20', '--json'], targetMs: 800 },
];

function time(args: string[], env: NodeJS.ProcessEnv): number {
  const started = process.hrtime.bigint();
  const result = spawnSync(process.execPath, [BIN, ...args], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (result.status !== 0) throw new Error(`vega ${args.join(' ')} exited with ${result.status}: ${result.stderr.toString()}`);
  return ms;
}

const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'vega-bench-cli-'));
  const cacheDir = mkdtempSync(join(tmpdir(), 'vega-bench-cli-cache-'));
  const env = { PATH: process.env.PATH, HOME: process.env.HOME, VEGA_DATA_DIR: dataDir, LOG_LEVEL: 'fatal', NODE_COMPILE_CACHE: cacheDir };
  const uncached = { ...env, NODE_DISABLE_COMPILE_CACHE: '1' };
  try {
    // The first run creates the database (migrations); the figures are for an existing one.
    time(['history'], env);
    await seedConversations(
      join(dataDir, 'vega.db'),
      Array.from({ length: ROWS }, (_, i) => ({ prompt: `prompt ${i} about sqlite and circuit breakers`, response: `answer ${i}`, session_id: `s${i % 50}` })),
    );
    process.stdout.write(`vega start-up, ${RUNS} runs each (after 2 warm-up runs), ${ROWS} rows, node ${process.version}\n\n`);
    process.stdout.write('| command | compile cache | min | p50 | p90 | max | target |\n|---|---|---|---|---|---|---|\n');
    for (const { args, targetMs } of TARGETS) {
      for (const [label, runEnv] of [['on', env], ['off', uncached]] as const) {
        time(args, runEnv);
        time(args, runEnv);
        const samples = Array.from({ length: RUNS }, () => time(args, runEnv)).sort((a, b) => a - b);
        const p50 = quantile(samples, 0.5);
        const cells = [samples[0], p50, quantile(samples, 0.9), samples.at(-1)!].map((ms) => `${ms.toFixed(0)} ms`);
        const verdict = p50 <= targetMs ? 'met' : '**missed**';
        process.stdout.write(`| \`vega ${args.join(' ')}\` | ${label} | ${cells.join(' | ')} | ≤ ${targetMs} ms (p50 ${verdict}) |\n`);
      }
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(cacheDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
