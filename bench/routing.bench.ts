/**
 * Vega's fair queue in front of several model servers (#22), `npm run bench:routing` (after
 * `npm run build`): two fake Ollama targets, each given at most 2 generations at once
 * (`max_concurrency: 2` in a backends file), each generation a fixed 200 ms. Two keys offer more
 * than the targets serve: the heavy one 20 times as many requests as the light one.
 *
 * Reported: throughput against the ideal (the targets' total capacity, 2 × 2 / 200 ms = 20/s),
 * the light key's wait (p50, p99: its latency less that of a request with nobody waiting), and
 * the routing CPU per request (the pick, the place taken and given back, and a wait in the queue
 * handed on by a release), measured in this process on the same classes Vega runs.
 *
 * Targets: ≥ 95 % of the ideal throughput, light p99 wait ≤ one generation (200 ms), ≤ 20 µs of
 * routing CPU per request.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cancellation } from '../src/common/async/cancellation';
import { OllamaBackend } from '../src/core/llm/backends/ollama/ollama.backend';
import { Deadline } from '../src/core/llm/resilience/attempt';
import type { QueueCaller } from '../src/core/llm/routing/fair-queue';
import { Target } from '../src/core/llm/routing/target';
import { TargetPool } from '../src/core/llm/routing/target-pool';
import { startFakeOllama, startVega, type Running } from './processes';

const GENERATION_MS = 200;
const SLOTS_PER_TARGET = 2;
const TARGETS = 2;
const IDEAL_PER_SECOND = (TARGETS * SLOTS_PER_TARGET * 1000) / GENERATION_MS;
const SECONDS = Number(process.env.BENCH_ROUTING_SECONDS ?? 10);
/** Offered: 1.5 × the capacity, 20 heavy requests for each light one. */
const OFFERED_PER_SECOND = IDEAL_PER_SECOND * 1.5;
const LIGHT_SHARE = 1 / 21;
const CPU_ROUNDS = Number(process.env.BENCH_ROUTING_CPU_ROUNDS ?? 200_000);
const HEAVY_KEY = 'bench-heavy-0123456789';
const LIGHT_KEY = 'bench-light-0123456789';

interface Done {
  key: 'heavy' | 'light';
  sentAt: number;
  ms: number;
  status: number;
}

async function send(url: string, key: string, content: string): Promise<{ status: number; ms: number }> {
  const startedAt = performance.now();
  const res = await fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({ model: 'mistral', messages: [{ role: 'user', content }] }),
  });
  await res.arrayBuffer();
  return { status: res.status, ms: performance.now() - startedAt };
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** Routing CPU per request: pick, take and give back a place; and a wait handed on by a release. */
async function routingCpu(): Promise<{ directUs: number; queuedUs: number }> {
  const targets = ['gpu-1', 'gpu-2'].map(
    (name) =>
      new Target({ name, kind: 'ollama', url: 'http://127.0.0.1:9', weight: 1, maxConcurrency: SLOTS_PER_TARGET, models: ['mistral'] }, new OllamaBackend('http://127.0.0.1:9'), {
        failThreshold: 5,
        resetMs: 30_000,
      }),
  );
  let caller: QueueCaller = { key: 'heavy' };
  const pool = new TargetPool(targets, 'loaded-first', { settings: { maxLength: 1_000_000, maxWaitMs: 600_000 }, caller: () => caller });
  const deadline = new Deadline(600_000, new Cancellation());

  const before = process.cpuUsage();
  for (let round = 0; round < CPU_ROUNDS; round += 1) {
    const target = pool.pick('mistral')!;
    const permit = target.breaker.acquire()!;
    pool.queue.take(target, 'mistral').end();
    permit.success();
  }
  const direct = process.cpuUsage(before);

  // Every place taken; each round queues one request (heavy or light) and frees one place, which the queue hands on.
  const running = targets.flatMap((target) => Array.from({ length: SLOTS_PER_TARGET }, () => pool.queue.take(target, 'mistral')));
  const rounds = Math.floor(CPU_ROUNDS / 4);
  const queuedBefore = process.cpuUsage();
  for (let round = 0; round < rounds; round += 1) {
    caller = round % 21 === 0 ? { key: 'light' } : { key: 'heavy' };
    const waiting = pool.queue.wait('mistral', deadline, performance.now());
    running.shift()!.end();
    running.push(await waiting);
  }
  const queued = process.cpuUsage(queuedBefore);
  for (const slot of running) slot.end();
  const us = (usage: NodeJS.CpuUsage, count: number) => (usage.user + usage.system) / count;
  return { directUs: us(direct, CPU_ROUNDS), queuedUs: us(queued, rounds) };
}

async function main(): Promise<void> {
  const fakes: Running[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'vega-routing-bench-'));
  let vega: (Running & { apiKey: string }) | undefined;
  try {
    for (let index = 0; index < TARGETS; index += 1) {
      fakes.push(await startFakeOllama(['--models', 'mistral', '--token-delay-ms', String(GENERATION_MS), '--reply', 'ok']));
    }
    const file = join(dir, 'backends.yaml');
    writeFileSync(
      file,
      `strategy: least-busy\ntargets:\n${fakes.map((fake, index) => `  - name: gpu-${index + 1}\n    kind: ollama\n    url: ${fake.url}\n    max_concurrency: ${SLOTS_PER_TARGET}\n    models: [mistral]\n`).join('')}`,
    );
    vega = await startVega({
      BACKENDS_FILE: file,
      API_KEYS_EXTRA: `${HEAVY_KEY},${LIGHT_KEY}`,
      RATE_LIMIT_PER_MINUTE: '0',
      CACHE_TTL_SECONDS: '0',
      LOG_LEVEL: 'warn',
      MODEL_NAME: 'mistral',
      QUEUE_MAX_WAIT_SEC: '600',
    });
    const url = vega.url;
    // What a request takes with nobody waiting: the light key's latency less this is its wait.
    await send(url, LIGHT_KEY, 'warm-up');
    const alone: number[] = [];
    for (let index = 0; index < 5; index += 1) alone.push((await send(url, LIGHT_KEY, `alone ${index}`)).ms);
    const baseline = Math.min(...alone);

    const done: Done[] = [];
    const pending: Promise<void>[] = [];
    const intervalMs = 1000 / OFFERED_PER_SECOND;
    const startedAt = performance.now();
    let sent = 0;
    let lightDebt = 0;
    while (performance.now() - startedAt < SECONDS * 1000) {
      const due = startedAt + sent * intervalMs;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      lightDebt += LIGHT_SHARE;
      const key = lightDebt >= 1 ? 'light' : 'heavy';
      if (key === 'light') lightDebt -= 1;
      const sentAt = performance.now();
      const index = sent;
      pending.push(send(url, key === 'light' ? LIGHT_KEY : HEAVY_KEY, `${key} ${index}`).then(({ status, ms }) => void done.push({ key, sentAt, ms, status })));
      sent += 1;
    }
    const offeredEnd = performance.now();
    // Throughput while the targets had more than they could serve: answers finished during the offered window.
    const finishedInWindow = () => done.filter((entry) => entry.sentAt + entry.ms <= offeredEnd && entry.status === 200).length;
    const windowSeconds = (offeredEnd - startedAt) / 1000;
    await Promise.all(pending);
    const throughput = finishedInWindow() / windowSeconds;
    // The first generation's time is lost to filling the pipeline: the ideal over the window counts it.
    const ideal = (IDEAL_PER_SECOND * (windowSeconds - GENERATION_MS / 1000)) / windowSeconds;
    const lightWaits = done
      .filter((entry) => entry.key === 'light')
      .map((entry) => Math.max(0, entry.ms - baseline))
      .sort((a, b) => a - b);
    const heavyWaits = done
      .filter((entry) => entry.key === 'heavy')
      .map((entry) => Math.max(0, entry.ms - baseline))
      .sort((a, b) => a - b);
    const failed = done.filter((entry) => entry.status !== 200).length;
    const cpu = await routingCpu();

    const figures = {
      seconds: SECONDS,
      offeredPerSecond: OFFERED_PER_SECOND,
      idealPerSecond: IDEAL_PER_SECOND,
      throughputPerSecond: Number(throughput.toFixed(2)),
      ofIdeal: Number((throughput / ideal).toFixed(4)),
      failed,
      aloneMs: Number(baseline.toFixed(1)),
      light: { requests: lightWaits.length, p50WaitMs: Number(percentile(lightWaits, 50).toFixed(1)), p99WaitMs: Number(percentile(lightWaits, 99).toFixed(1)) },
      heavy: { requests: heavyWaits.length, p50WaitMs: Number(percentile(heavyWaits, 50).toFixed(1)), p99WaitMs: Number(percentile(heavyWaits, 99).toFixed(1)) },
      routingCpuUs: { direct: Number(cpu.directUs.toFixed(2)), queued: Number(cpu.queuedUs.toFixed(2)) },
    };
    const checks = [
      ['throughput ≥ 95 % of ideal', figures.ofIdeal >= 0.95],
      ['light p99 wait ≤ 200 ms', figures.light.p99WaitMs <= GENERATION_MS],
      ['routing CPU ≤ 20 µs/request', Math.max(cpu.directUs, cpu.queuedUs) <= 20],
      ['no request failed', failed === 0],
    ] as const;

    console.log('\nbench:routing: 2 targets × 2 at once × 200 ms, offered 1.5 × capacity, heavy:light = 20:1\n');
    console.log('| figure | value |');
    console.log('|---|---|');
    console.log(`| throughput | ${figures.throughputPerSecond}/s of ${IDEAL_PER_SECOND}/s (${(figures.ofIdeal * 100).toFixed(1)} % of ideal) |`);
    console.log(`| light key wait p50 / p99 | ${figures.light.p50WaitMs} / ${figures.light.p99WaitMs} ms (${figures.light.requests} requests) |`);
    console.log(`| heavy key wait p50 / p99 | ${figures.heavy.p50WaitMs} / ${figures.heavy.p99WaitMs} ms (${figures.heavy.requests} requests) |`);
    console.log(`| routing CPU per request, direct / queued | ${figures.routingCpuUs.direct} / ${figures.routingCpuUs.queued} µs |`);
    console.log(`| failed | ${failed} |`);
    console.log('');
    for (const [name, met] of checks) console.log(`${met ? 'met   ' : 'MISSED'} ${name}`);
    console.log(`\n${JSON.stringify(figures)}`);
    if (checks.some(([, met]) => !met)) process.exitCode = 1;
  } finally {
    await vega?.stop();
    for (const fake of fakes) await fake.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

void main();
