/**
 * Start-up cost of the built `vega` command (run `npm run build` first): wall time of whole
 * processes, as a user sees it, for `vega --help` and `vega history --limit 20` on a database
 * with BENCH_CLI_ROWS conversations. Prints min / p50 / p90 / max over BENCH_CLI_RUNS runs.
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
  const env = { PATH: process.env.PATH, HOME: process.env.HOME, VEGA_DATA_DIR: dataDir, LOG_LEVEL: 'fatal' };
  try {
    // The first run creates the database (migrations); the figures are for an existing one.
    time(['history'], env);
    await seedConversations(
      join(dataDir, 'vega.db'),
      Array.from({ length: ROWS }, (_, i) => ({ prompt: `prompt ${i} about sqlite and circuit breakers`, response: `answer ${i}`, session_id: `s${i % 50}` })),
    );
    process.stdout.write(`vega start-up, ${RUNS} runs each (after 2 warm-up runs), ${ROWS} rows, node ${process.version}\n\n`);
    process.stdout.write('| command | min | p50 | p90 | max | target |\n|---|---|---|---|---|---|\n');
    for (const { args, targetMs } of TARGETS) {
      time(args, env);
      time(args, env);
      const samples = Array.from({ length: RUNS }, () => time(args, env)).sort((a, b) => a - b);
      const p50 = quantile(samples, 0.5);
      const cells = [samples[0], p50, quantile(samples, 0.9), samples.at(-1)!].map((ms) => `${ms.toFixed(0)} ms`);
      const verdict = p50 <= targetMs ? 'met' : '**missed**';
      process.stdout.write(`| \`vega ${args.join(' ')}\` | ${cells.join(' | ')} | ≤ ${targetMs} ms (p50 ${verdict}) |\n`);
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
