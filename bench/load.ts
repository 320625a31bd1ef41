import autocannon from 'autocannon';
import { Pool } from 'undici';

export interface Target {
  url: string;
  path: string;
  headers: Record<string, string>;
  body: string;
}

export interface Latency {
  p50: number;
  p99: number;
  count: number;
  errors: number;
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

function summarize(samples: number[], errors: number): Latency {
  const sorted = [...samples].sort((a, b) => a - b);
  return { p50: percentile(sorted, 50), p99: percentile(sorted, 99), count: samples.length, errors };
}

async function once(pool: Pool, target: Target): Promise<boolean> {
  const response = await pool.request({
    path: target.path,
    method: 'POST',
    headers: { 'content-type': 'application/json', ...target.headers },
    body: target.body,
  });
  await response.body.dump();
  return response.statusCode === 200;
}

/** (a) One connection, one request after another; latency in ms with µs resolution. */
export async function sequential(target: Target, requests: number, warmup = 200): Promise<Latency> {
  const pool = new Pool(target.url, { connections: 1 });
  try {
    for (let i = 0; i < warmup; i += 1) await once(pool, target);
    const samples: number[] = [];
    let errors = 0;
    for (let i = 0; i < requests; i += 1) {
      const started = process.hrtime.bigint();
      if (!(await once(pool, target))) errors += 1;
      samples.push(Number(process.hrtime.bigint() - started) / 1e6);
    }
    return summarize(samples, errors);
  } finally {
    await pool.close();
  }
}

/**
 * (b) Open-loop load at a fixed rate over `connections` connections. Latency is measured from
 * the moment each request was due (or sent, when a timer let it leave early), so a stalled server
 * cannot hide its queueing delay.
 */
export async function fixedRate(target: Target, rate: number, connections: number, seconds: number): Promise<Latency> {
  const pool = new Pool(target.url, { connections, pipelining: 1 });
  const samples: number[] = [];
  let errors = 0;
  const total = rate * seconds;
  const intervalNs = 1e9 / rate;
  const start = process.hrtime.bigint();
  const inFlight: Promise<void>[] = [];
  try {
    for (let i = 0; i < total; i += 1) {
      const due = start + BigInt(Math.round(i * intervalNs));
      const wait = Number(due - process.hrtime.bigint()) / 1e6;
      if (wait > 1) await new Promise((done) => setTimeout(done, wait));
      else if (wait > 0) await new Promise((done) => setImmediate(done));
      // Timers are good to about a millisecond, so a request may leave a little before it is
      // due: its latency counts from when it left then, never from before it was sent.
      const sent = process.hrtime.bigint();
      const from = sent > due ? due : sent;
      inFlight.push(
        once(pool, target).then(
          (ok) => {
            if (!ok) errors += 1;
            samples.push(Number(process.hrtime.bigint() - from) / 1e6);
          },
          () => {
            errors += 1;
          },
        ),
      );
    }
    await Promise.all(inFlight);
    return summarize(samples, errors);
  } finally {
    await pool.close();
  }
}

/** (c) Closed-loop maximum throughput with autocannon. */
export async function maxThroughput(
  target: Target,
  connections: number,
  seconds: number,
): Promise<{ rps: number; errors: number; requests: number }> {
  const result = await autocannon({
    url: `${target.url}${target.path}`,
    method: 'POST',
    headers: { 'content-type': 'application/json', ...target.headers },
    body: target.body,
    connections,
    duration: seconds,
  });
  return { rps: result.requests.average, errors: result.errors + result.non2xx, requests: result.requests.total };
}

/** Time until the first token of a stream: an `event: token` frame (SSE) or an NDJSON line with content. */
export async function timeToFirstToken(target: Target, marker: string, requests: number): Promise<Latency> {
  const pool = new Pool(target.url, { connections: 1 });
  const samples: number[] = [];
  let errors = 0;
  try {
    for (let i = 0; i < requests + 50; i += 1) {
      const started = process.hrtime.bigint();
      const response = await pool.request({
        path: target.path,
        method: 'POST',
        headers: { 'content-type': 'application/json', ...target.headers },
        body: target.body,
      });
      let seen = '';
      let first = 0;
      for await (const chunk of response.body) {
        if (!first) {
          seen += chunk.toString();
          if (seen.includes(marker)) first = Number(process.hrtime.bigint() - started) / 1e6;
        }
      }
      if (!first || response.statusCode !== 200) errors += 1;
      else if (i >= 50) samples.push(first);
    }
    return summarize(samples, errors);
  } finally {
    await pool.close();
  }
}

/**
 * One request to each target in turn, `requests` rounds, each target on its own connection: the
 * targets share whatever else the machine does at that moment, so their figures compare within
 * the run even when the machine's speed drifts (it does on a shared VM).
 */
export async function interleaved(targets: Target[], requests: number, warmup = 200): Promise<Latency[]> {
  const pools = targets.map((target) => new Pool(target.url, { connections: 1 }));
  const samples = targets.map((): number[] => []);
  const errors = targets.map(() => 0);
  try {
    for (let i = 0; i < warmup + requests; i += 1) {
      for (const [t, target] of targets.entries()) {
        const started = process.hrtime.bigint();
        const ok = await once(pools[t], target);
        if (i < warmup) continue;
        samples[t].push(Number(process.hrtime.bigint() - started) / 1e6);
        if (!ok) errors[t] += 1;
      }
    }
    return targets.map((_, t) => summarize(samples[t], errors[t]));
  } finally {
    await Promise.all(pools.map((pool) => pool.close()));
  }
}

export interface StreamTimes {
  first: Latency;
  last: Latency;
}

/**
 * Streams `count` answers from each target in turn (after two unmeasured ones each): the time to
 * the first byte holding `marker` and to the end of the body. With `last`, a body whose end does
 * not hold it (the answer was cut short) counts as an error.
 */
export async function streamTimes(targets: { target: Target; marker: string; last?: string }[], count: number): Promise<StreamTimes[]> {
  const pools = targets.map(({ target }) => new Pool(target.url, { connections: 1 }));
  const first = targets.map((): number[] => []);
  const last = targets.map((): number[] => []);
  const errors = targets.map(() => 0);
  try {
    for (let i = 0; i < count + 2; i += 1) {
      for (const [t, { target, marker, last: end }] of targets.entries()) {
        const started = process.hrtime.bigint();
        const elapsed = () => Number(process.hrtime.bigint() - started) / 1e6;
        const response = await pools[t].request({
          path: target.path,
          method: 'POST',
          headers: { 'content-type': 'application/json', ...target.headers },
          body: target.body,
        });
        let seen = '';
        let firstAt = 0;
        let tail = '';
        for await (const chunk of response.body) {
          if (end) tail = (tail + chunk.toString()).slice(-1024);
          if (firstAt) continue;
          seen += chunk.toString();
          if (seen.includes(marker)) firstAt = elapsed();
        }
        const lastAt = elapsed();
        if (response.statusCode !== 200 || !firstAt || (end && !tail.includes(end))) errors[t] += 1;
        else if (i >= 2) {
          first[t].push(firstAt);
          last[t].push(lastAt);
        }
      }
    }
    return targets.map((_, t) => ({ first: summarize(first[t], errors[t]), last: summarize(last[t], errors[t]) }));
  } finally {
    await Promise.all(pools.map((pool) => pool.close()));
  }
}
