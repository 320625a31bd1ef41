import type { Pool } from 'undici';

/** Warm-up requests before each measured series (not counted). */
export const GET_WARMUP = 50;

export interface Figures {
  p50: number;
  p99: number;
  max: number;
  errors: number;
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

/** `requests` GETs one after another on `pool` (after `GET_WARMUP` unmeasured ones); latency in ms, a non-200 counted as an error. */
export async function sequentialGets(pool: Pool, headers: Record<string, string>, path: (i: number) => string, requests: number): Promise<Figures> {
  const samples: number[] = [];
  let errors = 0;
  for (let i = 0; i < requests + GET_WARMUP; i += 1) {
    const started = process.hrtime.bigint();
    const response = await pool.request({ path: path(i), method: 'GET', headers });
    await response.body.dump();
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    if (response.statusCode !== 200) errors += 1;
    if (i >= GET_WARMUP) samples.push(ms);
  }
  samples.sort((a, b) => a - b);
  return { p50: percentile(samples, 50), p99: percentile(samples, 99), max: samples[samples.length - 1], errors };
}
