/**
 * Ollama's own API through Vega (#19): `POST /api/chat` against the same request sent to the
 * backend directly, and against Vega's `/chat` in the same run, with its own fake Ollama processes:
 *
 * (h) a non-streamed answer on one connection: added p50 and p99;
 * (i) a streamed answer of 1,000 tokens paced at one a millisecond (as in exchange.bench.ts (f)):
 *     added time to the first token and to the last;
 * (j) the most requests/s on 16 connections.
 *
 * Target: every figure of `/api/chat` within 10 % of `/chat`'s. The two routes are measured in
 * turn, request by request (or run by run for (j)), so a machine that speeds up or slows down
 * during the run moves both alike.
 *
 * Runs on its own (`npm run bench:ollama`, after `npm run build`) and at the end of `npm run bench`.
 */
import { interleaved, type Latency, maxThroughput, streamTimes, type StreamTimes, type Target } from './load';
import { startFakeOllama, startVega } from './processes';

const REQUESTS = Number(process.env.BENCH_OLLAMA_REQUESTS ?? 2000);
const STREAMS = Number(process.env.BENCH_STREAMS ?? 10);
const MAX_SECONDS = Number(process.env.BENCH_MAX_SECONDS ?? 10);
const WARMUP_SECONDS = Number(process.env.BENCH_WARMUP_SECONDS ?? 3);
const TOKEN_DELAY_MS = Number(process.env.BENCH_TOKEN_DELAY_MS ?? 1);
const STREAM_TOKENS = 1000;
const CONNECTIONS = 16;
const MODEL = 'mistral';
const PROMPT = 'Summarise the benefits of a circuit breaker in one sentence.';
/** The paced backend's answer: 1,000 words, one token each; the first and last mark its ends. */
const LONG_ANSWER = Array.from({ length: STREAM_TOKENS }, (_, i) => `word${i}`).join(' ');
const FIRST_TOKEN = 'word0';
const LAST_TOKEN = `word${STREAM_TOKENS - 1}`;
/** Within 10 % of `/chat`'s figure. */
const TOLERANCE = 0.1;

const fmt = (ms: number) => ms.toFixed(3).padStart(9);
const messages = [{ role: 'user', content: PROMPT }];

export interface OllamaFigures {
  /** /api/chat's figure over /chat's, for what the client sees: latencies (lower is better)... */
  p50: number;
  p99: number;
  firstToken: number;
  lastToken: number;
  /** ...and requests/s (higher is better). */
  requestsPerSecond: number;
}

/** An error here means every figure below would be an error count: say why once, before measuring. */
async function expectOk(target: Target, what: string): Promise<void> {
  const response = await fetch(`${target.url}${target.path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...target.headers },
    body: target.body,
  });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`${what}: HTTP ${response.status} ${text.slice(0, 200)} (is dist/ built from this code? npx nest build)`);
}

function latencyRow(label: string, vega: Latency, backend: Latency): string {
  const errors = vega.errors + backend.errors ? `  (errors: vega ${vega.errors}, backend ${backend.errors})` : '';
  return (
    `  ${label.padEnd(32)}p50 ${fmt(vega.p50)} ms  p99 ${fmt(vega.p99)} ms | backend p50 ${fmt(backend.p50)} ms  p99 ${fmt(backend.p99)} ms` +
    ` | added p50 ${fmt(vega.p50 - backend.p50)} ms  p99 ${fmt(vega.p99 - backend.p99)} ms${errors}`
  );
}

function streamRow(label: string, vega: StreamTimes, backend: StreamTimes): string {
  const errors = vega.first.errors + backend.first.errors ? `  (errors: vega ${vega.first.errors}, backend ${backend.first.errors})` : '';
  return (
    `  ${label.padEnd(32)}first p50 ${fmt(vega.first.p50)} ms  last p50 ${fmt(vega.last.p50)} ms | backend first ${fmt(backend.first.p50)} ms  last ${fmt(backend.last.p50)} ms` +
    ` | added first ${fmt(vega.first.p50 - backend.first.p50)} ms  last ${fmt(vega.last.p50 - backend.last.p50)} ms${errors}`
  );
}

export async function ollamaBench(log: (line: string) => void = console.log): Promise<OllamaFigures> {
  const fast = await startFakeOllama(['--models', MODEL]);
  const paced = await startFakeOllama(['--models', MODEL, '--token-delay-ms', String(TOKEN_DELAY_MS), '--reply', LONG_ANSWER]);
  // As in chat.bench.ts: everything a production request goes through stays on; the cache is off
  // (an Ollama client that sets no seed or temperature 0 bypasses it anyway).
  const env = { MODEL_NAME: MODEL, PII_MASKING: 'true', CACHE_TTL_SECONDS: '0', RATE_LIMIT_PER_MINUTE: '1000000', LOG_LEVEL: 'info' };
  const vegaFast = await startVega({ ...env, OLLAMA_URL: fast.url });
  // /chat cuts its answers at MAX_RESPONSE_CHARS (4,000 by default; the long answer has ~5,900).
  const vegaPaced = await startVega({ ...env, OLLAMA_URL: paced.url, MAX_RESPONSE_CHARS: '100000' });
  try {
    // Vega's own clients send X-API-Key; Ollama's clients send the key as a bearer token.
    const vegaKey = (vega: { apiKey: string }) => ({ 'x-api-key': vega.apiKey });
    const bearer = (vega: { apiKey: string }) => ({ authorization: `Bearer ${vega.apiKey}` });
    const chat: Target = { url: vegaFast.url, path: '/chat', headers: vegaKey(vegaFast), body: JSON.stringify({ prompt: PROMPT }) };
    const native: Target = { url: vegaFast.url, path: '/api/chat', headers: bearer(vegaFast), body: JSON.stringify({ model: MODEL, messages, stream: false }) };
    // The backend figure for each route is the same request to the fake directly: for /chat, what
    // Vega sends upstream (a streamed /api/chat); for /api/chat, the client's own request.
    const chatBackend: Target = { url: fast.url, path: '/api/chat', headers: {}, body: JSON.stringify({ model: MODEL, messages, stream: true }) };
    const nativeBackend: Target = { url: fast.url, path: '/api/chat', headers: {}, body: native.body };
    await expectOk(native, 'POST /api/chat through Vega');

    log(`(h)–(j) Ollama's own API: POST /api/chat against POST /chat, the same Vega in front of the same backend`);
    log(`warm-up: ${WARMUP_SECONDS} s of load on each route before measuring`);
    for (const target of [chatBackend, nativeBackend, chat, native]) await maxThroughput(target, CONNECTIONS, WARMUP_SECONDS);

    log(`(h) non-streamed answer, 1 connection, ${REQUESTS} requests to each, in turn`);
    const [chatSeq, nativeSeq, chatSeqBackend, nativeSeqBackend] = await interleaved([chat, native, chatBackend, nativeBackend], REQUESTS);
    log(latencyRow('POST /chat', chatSeq, chatSeqBackend));
    log(latencyRow('POST /api/chat (stream: false)', nativeSeq, nativeSeqBackend));

    log(`(i) ${STREAM_TOKENS}-token streamed answer, one token every ${TOKEN_DELAY_MS} ms, ${STREAMS} streams each, in turn`);
    const streamed = (target: Omit<Target, 'body'>, body: unknown) => ({ target: { ...target, body: JSON.stringify(body) }, marker: FIRST_TOKEN, last: LAST_TOKEN });
    const [sse, ndjson, pacedBackend] = await streamTimes(
      [
        streamed({ url: vegaPaced.url, path: '/chat/sse', headers: vegaKey(vegaPaced) }, { prompt: PROMPT }),
        streamed({ url: vegaPaced.url, path: '/api/chat', headers: bearer(vegaPaced) }, { model: MODEL, messages, stream: true }),
        streamed({ url: paced.url, path: '/api/chat', headers: {} }, { model: MODEL, messages, stream: true }),
      ],
      STREAMS,
    );
    log(streamRow('POST /chat/sse', sse, pacedBackend));
    log(streamRow('POST /api/chat (NDJSON)', ndjson, pacedBackend));

    // Two runs of each in the order A B B A, so a linear drift of the machine's speed cancels out.
    log(`(j) most requests/s, ${CONNECTIONS} connections, 2 × ${MAX_SECONDS / 2} s each (order: /chat, /api/chat, /api/chat, /chat)`);
    const half = MAX_SECONDS / 2;
    const runs = [];
    for (const target of [chat, native, native, chat]) runs.push(await maxThroughput(target, CONNECTIONS, half));
    const chatMax = { rps: (runs[0].rps + runs[3].rps) / 2, errors: runs[0].errors + runs[3].errors };
    const nativeMax = { rps: (runs[1].rps + runs[2].rps) / 2, errors: runs[1].errors + runs[2].errors };
    const backendMax = await maxThroughput(nativeBackend, CONNECTIONS, half);
    log(`  POST /chat                      ${chatMax.rps.toFixed(0).padStart(6)} req/s (errors ${chatMax.errors})`);
    log(`  POST /api/chat (stream: false)  ${nativeMax.rps.toFixed(0).padStart(6)} req/s (errors ${nativeMax.errors}) | backend alone ${backendMax.rps.toFixed(0)} req/s`);

    const figures: OllamaFigures = {
      p50: nativeSeq.p50 / chatSeq.p50,
      p99: nativeSeq.p99 / chatSeq.p99,
      firstToken: ndjson.first.p50 / sse.first.p50,
      lastToken: ndjson.last.p50 / sse.last.p50,
      requestsPerSecond: nativeMax.rps / chatMax.rps,
    };
    log(`targets (#19): /api/chat within ${TOLERANCE * 100} % of /chat (the figure each client sees, /api/chat's over /chat's)`);
    const verdict = (ok: boolean) => (ok ? 'met' : 'missed');
    const slower = (name: string, ratio: number) => `  ${name.padEnd(32)}${ratio.toFixed(2)}×: ${verdict(ratio <= 1 + TOLERANCE)}`;
    log(slower('(h) p50', figures.p50));
    log(slower('(h) p99', figures.p99));
    log(slower('(i) first token p50', figures.firstToken));
    log(slower('(i) last token p50', figures.lastToken));
    log(`  ${'(j) most requests/s'.padEnd(32)}${figures.requestsPerSecond.toFixed(2)}×: ${verdict(figures.requestsPerSecond >= 1 - TOLERANCE)}`);
    return figures;
  } finally {
    await vegaPaced.stop();
    await vegaFast.stop();
    await paced.stop();
    await fast.stop();
  }
}

if (require.main === module) {
  ollamaBench().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
