/**
 * `npm run bench` (after `npm run build`): the fake Ollama and Vega in their own processes,
 * driven from this one. Every figure for Vega is printed next to the same figure for the
 * backend alone, measured in the same run, so the difference is what Vega adds.
 */
import { maxThroughput, fixedRate, Latency, sequential, Target, timeToFirstToken } from './load';
import { cpuTimeMs, rssMb, startFakeOllama, startReferenceProxy, startVega } from './processes';

const SEQUENTIAL_REQUESTS = Number(process.env.BENCH_SEQUENTIAL ?? 3000);
const RATE = Number(process.env.BENCH_RATE ?? 500);
const RATE_SECONDS = Number(process.env.BENCH_RATE_SECONDS ?? 10);
const MAX_SECONDS = Number(process.env.BENCH_MAX_SECONDS ?? 10);
const WARMUP_SECONDS = Number(process.env.BENCH_WARMUP_SECONDS ?? 3);
const CONNECTIONS = 16;
const PROMPT = 'Summarise the benefits of a circuit breaker in one sentence.';

const fmt = (ms: number) => ms.toFixed(3).padStart(8);

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
    console.log(row('  POST /chat', await sequential(chat, SEQUENTIAL_REQUESTS), seqBackend));
    console.log(floorRow(await sequential(floor, SEQUENTIAL_REQUESTS), seqBackend));

    console.log(`(b) fixed load: ${RATE} requests/s over ${CONNECTIONS} connections for ${RATE_SECONDS} s`);
    const rateBackend = await fixedRate(backend, RATE, CONNECTIONS, RATE_SECONDS);
    const rateVega = await fixedRate(chat, RATE, CONNECTIONS, RATE_SECONDS);
    console.log(row('  POST /chat', rateVega, rateBackend));
    console.log(floorRow(await fixedRate(floor, RATE, CONNECTIONS, RATE_SECONDS), rateBackend));

    console.log('(d) SSE time to first token, 1 connection');
    const ttftVega = await timeToFirstToken(sse, 'event: token', 1000);
    const ttftBackend = await timeToFirstToken(backend, '"content"', 1000);
    console.log(row('  POST /chat/sse (first token)', ttftVega, ttftBackend));

    console.log(`(c) most requests/s, ${CONNECTIONS} connections, ${MAX_SECONDS} s`);
    const maxBackend = await maxThroughput(backend, CONNECTIONS, MAX_SECONDS);
    const cpuBefore = { vega: cpuTimeMs(vega.pid), backend: cpuTimeMs(fake.pid) };
    const maxVega = await maxThroughput(chat, CONNECTIONS, MAX_SECONDS);
    const perRequestUs = (pid: number, before: number) => ((cpuTimeMs(pid) - before) * 1000) / maxVega.requests;
    console.log(
      `  POST /chat                        vega ${maxVega.rps.toFixed(0)} req/s (errors ${maxVega.errors}) | backend ${maxBackend.rps.toFixed(0)} req/s (errors ${maxBackend.errors})`,
    );
    // CPU time per request does not depend on what else the machine runs, unlike the rates above.
    console.log(
      `  CPU per request during (c)         vega ${perRequestUs(vega.pid, cpuBefore.vega).toFixed(0)} µs | backend serving vega ${perRequestUs(fake.pid, cpuBefore.backend).toFixed(0)} µs`,
    );

    const cpuFloor = cpuTimeMs(proxy.pid);
    const maxFloor = await maxThroughput(floor, CONNECTIONS, MAX_SECONDS);
    console.log(
      `  reference proxy (floor)           ${maxFloor.rps.toFixed(0)} req/s, CPU per request ${(((cpuTimeMs(proxy.pid) - cpuFloor) * 1000) / maxFloor.requests).toFixed(0)} µs`,
    );

    console.log(`RSS of Vega after the run: ${rssMb(vega.pid).toFixed(1)} MB`);
  } finally {
    await proxy.stop();
    await vega.stop();
    await fake.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
