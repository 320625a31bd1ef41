/**
 * `npm run bench` (after `npm run build`): the fake Ollama and Vega in their own processes,
 * driven from this one. Every figure for Vega is printed next to the same figure for the
 * backend alone, measured in the same run, so the difference is what Vega adds.
 */
import { maxThroughput, fixedRate, Latency, sequential, Target, timeToFirstToken } from './load';
import { loadConfig } from '../src/config/app-config';
import { cpuTimeMs, rssMb, startFakeOllama, startReferenceProxy, startVega } from './processes';
import { exchangeBench } from './exchange.bench';
import { ollamaBench } from './ollama.bench';

const SEQUENTIAL_REQUESTS = Number(process.env.BENCH_SEQUENTIAL ?? 3000);
const RATE = Number(process.env.BENCH_RATE ?? 500);
const RATE_SECONDS = Number(process.env.BENCH_RATE_SECONDS ?? 10);
const MAX_SECONDS = Number(process.env.BENCH_MAX_SECONDS ?? 10);
const WARMUP_SECONDS = Number(process.env.BENCH_WARMUP_SECONDS ?? 3);
const CONNECTIONS = 16;
/** The longest MEMORY_TRIM_IDLE_SEC the run waits for before reading Vega's idle RSS. */
const MAX_IDLE_WAIT_SECONDS = 120;
const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));
const PROMPT = 'Summarise the benefits of a circuit breaker in one sentence.';

const fmt = (ms: number) => ms.toFixed(3).padStart(8);
const ratio = (a: number, b: number) => (b > 0 ? `${(a / b).toFixed(2)}×` : 'n/a');
const percent = (a: number, b: number) => (b > 0 ? `${((100 * a) / b).toFixed(0)} %` : 'n/a');

function row(label: string, vega: Latency, backend: Latency): string {
  const errors = vega.errors + backend.errors ? `  (errors: vega ${vega.errors}, backend ${backend.errors})` : '';
  return (
    `${label.padEnd(34)} p50 ${fmt(vega.p50)} ms  p99 ${fmt(vega.p99)} ms | backend p50 ${fmt(backend.p50)} ms  p99 ${fmt(backend.p99)} ms` +
    ` | added p50 ${fmt(vega.p50 - backend.p50)} ms  p99 ${fmt(vega.p99 - backend.p99)} ms${errors}`
  );
}

/** The floor: what the framework-free reference proxy adds over the backend, measured alongside. */
function floorRow(proxy: Latency, backend: Latency): string {
  return (
    `${'  reference proxy (floor)'.padEnd(34)} p50 ${fmt(proxy.p50)} ms  p99 ${fmt(proxy.p99)} ms |${' '.repeat(44)}` +
    `| added p50 ${fmt(proxy.p50 - backend.p50)} ms  p99 ${fmt(proxy.p99 - backend.p99)} ms`
  );
}

async function main(): Promise<void> {
  const fake = await startFakeOllama();
  const proxy = await startReferenceProxy(fake.url);
  // Everything a production request goes through stays on: auth, rate limiting (with a
  // limit the load cannot reach), PII masking and the SQLite write. The cache is off, or
  // repeated prompts would be served from memory.
  const vega = await startVega({
    OLLAMA_URL: fake.url,
    PII_MASKING: 'true',
    CACHE_TTL_SECONDS: '0',
    RATE_LIMIT_PER_MINUTE: '1000000',
    LOG_LEVEL: 'info',
  });
  try {
    const headers = { 'x-api-key': vega.apiKey };
    const chat: Target = { url: vega.url, path: '/chat', headers, body: JSON.stringify({ prompt: PROMPT }) };
    const sse: Target = { url: vega.url, path: '/chat/sse', headers, body: JSON.stringify({ prompt: PROMPT }) };
    // What Vega itself sends upstream for that prompt: a streaming /api/chat.
    const backend: Target = {
      url: fake.url,
      path: '/api/chat',
      headers: {},
      body: JSON.stringify({ model: 'mistral', messages: [{ role: 'user', content: PROMPT }], stream: true }),
    };

    console.log(`Vega benchmark — ${new Date().toISOString()} — node ${process.version}, ${require('node:os').cpus().length} CPUs`);
    // The same prompt through the reference proxy, to show what any Node proxy adds here.
    const floor: Target = { url: proxy.url, path: '/chat', headers: {}, body: JSON.stringify({ prompt: PROMPT }) };

    // Every server is measured warm: a freshly started Node process runs its first thousands of
    // requests through the interpreter and V8's compiler threads, which is not the steady state.
    console.log(`warm-up: ${WARMUP_SECONDS} s of load on each server before measuring`);
    for (const target of [backend, chat, sse, floor]) await maxThroughput(target, CONNECTIONS, WARMUP_SECONDS);

    console.log('(a) sequential, 1 connection');
    const seqBackend = await sequential(backend, SEQUENTIAL_REQUESTS);
    const seqVega = await sequential(chat, SEQUENTIAL_REQUESTS);
    console.log(row('  POST /chat', seqVega, seqBackend));
    const seqFloor = await sequential(floor, SEQUENTIAL_REQUESTS);
    console.log(floorRow(seqFloor, seqBackend));

    console.log(`(b) fixed load: ${RATE} requests/s over ${CONNECTIONS} connections for ${RATE_SECONDS} s`);
    const rateBackend = await fixedRate(backend, RATE, CONNECTIONS, RATE_SECONDS);
    const rateVega = await fixedRate(chat, RATE, CONNECTIONS, RATE_SECONDS);
    console.log(row('  POST /chat', rateVega, rateBackend));
    const rateFloor = await fixedRate(floor, RATE, CONNECTIONS, RATE_SECONDS);
    console.log(floorRow(rateFloor, rateBackend));

    console.log('(d) SSE time to first token, 1 connection');
    const ttftVega = await timeToFirstToken(sse, 'event: token', 1000);
    const ttftBackend = await timeToFirstToken(backend, '"content"', 1000);
    console.log(row('  POST /chat/sse (first token)', ttftVega, ttftBackend));

    console.log(`(c) most requests/s, ${CONNECTIONS} connections, ${MAX_SECONDS} s`);
    const maxBackend = await maxThroughput(backend, CONNECTIONS, MAX_SECONDS);
    const cpuBefore = { vega: cpuTimeMs(vega.pid), backend: cpuTimeMs(fake.pid) };
    const maxVega = await maxThroughput(chat, CONNECTIONS, MAX_SECONDS);
    const rssUnderLoad = rssMb(vega.pid);
    const perRequestUs = (pid: number, before: number) => ((cpuTimeMs(pid) - before) * 1000) / maxVega.requests;
    const cpuVega = perRequestUs(vega.pid, cpuBefore.vega);
    console.log(
      `  POST /chat                        vega ${maxVega.rps.toFixed(0)} req/s (errors ${maxVega.errors}) | backend ${maxBackend.rps.toFixed(0)} req/s (errors ${maxBackend.errors})`,
    );
    // CPU time per request does not depend on what else the machine runs, unlike the rates above.
    console.log(
      `  CPU per request during (c)         vega ${cpuVega.toFixed(0)} µs | backend serving vega ${perRequestUs(fake.pid, cpuBefore.backend).toFixed(0)} µs`,
    );

    const cpuFloorBefore = cpuTimeMs(proxy.pid);
    const maxFloor = await maxThroughput(floor, CONNECTIONS, MAX_SECONDS);
    const cpuFloor = ((cpuTimeMs(proxy.pid) - cpuFloorBefore) * 1000) / maxFloor.requests;
    console.log(`  reference proxy (floor)           ${maxFloor.rps.toFixed(0)} req/s, CPU per request ${cpuFloor.toFixed(0)} µs`);

    // Once Vega has been idle for MEMORY_TRIM_IDLE_SEC it hands the heap of the run back.
    const idleSeconds = loadConfig(process.env).http.memoryTrimIdleMs / 1000;
    const rssAfterRun = rssMb(vega.pid);
    let rss = rssAfterRun;
    if (idleSeconds > 0 && idleSeconds <= MAX_IDLE_WAIT_SECONDS) {
      await sleep((Math.max(0, idleSeconds - MAX_SECONDS) + 3) * 1000);
      rss = rssMb(vega.pid);
    }
    console.log(
      `RSS of Vega: ${rssUnderLoad.toFixed(1)} MB at the end of (c), ${rssAfterRun.toFixed(1)} MB ${MAX_SECONDS} s later, ` +
        `${rss.toFixed(1)} MB once idle for ${idleSeconds} s (MEMORY_TRIM_IDLE_SEC)`,
    );

    // The same machine has measured 2-3x apart on different days (a shared VM), so the figures
    // that carry from one run to the next are these ratios, each taken within this run.
    console.log('ratios, this run');
    const added = (v: Latency, b: Latency, f: Latency) =>
      `Vega adds ${ratio(v.p50 - b.p50, f.p50 - b.p50)} (p50) and ${ratio(v.p99 - b.p99, f.p99 - b.p99)} (p99) what the reference proxy adds`;
    console.log(`  (a) sequential                    ${added(seqVega, seqBackend, seqFloor)}`);
    console.log(`  (b) ${RATE} req/s`.padEnd(36) + added(rateVega, rateBackend, rateFloor));
    console.log(
      `  (c) most requests/s               Vega ${percent(maxVega.rps, maxFloor.rps)} of the reference proxy's, ${percent(maxVega.rps, maxBackend.rps)} of the backend's`,
    );
    console.log(`  CPU per request                   Vega ${ratio(cpuVega, cpuFloor)} the reference proxy's`);

    console.log('targets (added by Vega, absolute)');
    const verdict = (ok: boolean) => (ok ? 'met' : 'missed');
    const seqAdded = { p50: seqVega.p50 - seqBackend.p50, p99: seqVega.p99 - seqBackend.p99 };
    const rateAdded = { p50: rateVega.p50 - rateBackend.p50, p99: rateVega.p99 - rateBackend.p99 };
    const ttftAdded = ttftVega.p50 - ttftBackend.p50;
    console.log(`  (a) p50 ≤ 0.5 ms: ${verdict(seqAdded.p50 <= 0.5)}; p99 ≤ 3 ms: ${verdict(seqAdded.p99 <= 3)}`);
    console.log(`  (b) p50 ≤ 0.5 ms: ${verdict(rateAdded.p50 <= 0.5)}; p99 ≤ 3 ms: ${verdict(rateAdded.p99 <= 3)}`);
    console.log(
      `  (c) ≥ 5,000 req/s: ${verdict(maxVega.rps >= 5000)} (the reference proxy reached ${maxFloor.rps.toFixed(0)} on this machine)`,
    );
    console.log(`  (d) SSE first token ≤ 1 ms: ${verdict(ttftAdded <= 1)}`);
    console.log(`  RSS ≤ 150 MB once idle: ${verdict(rss <= 150)}; at the end of (c): ${verdict(rssUnderLoad <= 150)}`);
  } finally {
    await proxy.stop();
    await vega.stop();
    await fake.stop();
  }
  // Tools and thinking (#18), with their own backend processes: see exchange.bench.ts.
  await exchangeBench();
  // Ollama's own API (#19) against /chat, with its own processes: see ollama.bench.ts.
  await ollamaBench();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
