/**
 * What Vega adds to the richer exchanges of issue #18, against the backend alone in the same run:
 *
 * (e) a tool-call round trip over `/v1/chat/completions` (the model calls a tool, the client
 *     sends the result back, the model answers), against the same two calls in Ollama's dialect;
 * (f) a streamed answer of 1,000 tokens with thinking, paced like a fast local model, against the
 *     same stream from the backend: added time to the first token and to the last;
 * (g) Vega's CPU time per streamed token at three answer lengths, which must stay flat.
 *
 * Runs on its own (`npm run bench:exchange`, after `npm run build`) and at the end of `npm run bench`.
 */
import { Pool } from 'undici';
import { cpuTimeMs, Running, startFakeOllama, startVega } from './processes';
import { streamTimes, type Latency } from './load';

const ROUND_TRIPS = Number(process.env.BENCH_ROUND_TRIPS ?? 300);
const STREAMS = Number(process.env.BENCH_STREAMS ?? 10);
const STREAM_TOKENS = 1000;
/** The pace of the stream in (f): about 1,000 tokens a second, a fast local model. */
const TOKEN_DELAY_MS = Number(process.env.BENCH_TOKEN_DELAY_MS ?? 1);
/** Tokens streamed per answer length in (g): enough CPU time to read at the clock tick's 10 ms. */
const CPU_TOKENS = Number(process.env.BENCH_CPU_TOKENS ?? 60_000);
const CPU_LENGTHS = [250, 1000, 4000];
const MODEL = 'qwen3';

const WEATHER_TOOL = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'The current weather in a city',
    parameters: { type: 'object', properties: { city: { type: 'string' }, unit: { type: 'string', enum: ['celsius', 'fahrenheit'] } }, required: ['city'] },
  },
};
const QUESTION = 'What is the weather in Oslo right now?';
const TOOL_RESULT = '{"temperature": 21, "unit": "celsius", "sky": "clear"}';

const fmt = (ms: number) => ms.toFixed(3).padStart(9);
const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
function summarize(samples: number[], errors: number): Latency {
  const sorted = [...samples].sort((a, b) => a - b);
  return { p50: percentile(sorted, 50), p99: percentile(sorted, 99), count: samples.length, errors };
}
const now = () => Number(process.hrtime.bigint()) / 1e6;

async function postJson(pool: Pool, path: string, headers: Record<string, string>, body: unknown): Promise<any> {
  const response = await pool.request({ path, method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  const json = (await response.body.json()) as any;
  if (response.statusCode !== 200) throw new Error(`${path}: HTTP ${response.statusCode} ${JSON.stringify(json).slice(0, 200)}`);
  return json;
}

/** (e) Vega: two `/v1/chat/completions` calls, the second carrying the call and its result. */
async function vegaRoundTrip(pool: Pool, headers: Record<string, string>): Promise<void> {
  const user = { role: 'user', content: QUESTION };
  const first = await postJson(pool, '/v1/chat/completions', headers, { model: MODEL, messages: [user], tools: [WEATHER_TOOL] });
  const call = first.choices[0].message.tool_calls?.[0];
  if (!call) throw new Error(`no tool call in ${JSON.stringify(first).slice(0, 200)}`);
  const second = await postJson(pool, '/v1/chat/completions', headers, {
    model: MODEL,
    messages: [user, { role: 'assistant', content: null, tool_calls: [call] }, { role: 'tool', tool_call_id: call.id, content: TOOL_RESULT }],
    tools: [WEATHER_TOOL],
  });
  if (typeof second.choices[0].message.content !== 'string') throw new Error('no final answer');
}

/** (e) The backend alone: the same two calls in Ollama's own dialect. */
async function backendRoundTrip(pool: Pool): Promise<void> {
  const user = { role: 'user', content: QUESTION };
  const first = await postJson(pool, '/api/chat', {}, { model: MODEL, messages: [user], tools: [WEATHER_TOOL], stream: false });
  const call = first.message.tool_calls?.[0];
  if (!call) throw new Error('no tool call from the backend');
  const second = await postJson(pool, '/api/chat', {}, {
    model: MODEL,
    messages: [user, { role: 'assistant', content: '', tool_calls: [call] }, { role: 'tool', tool_name: call.function.name, content: TOOL_RESULT }],
    tools: [WEATHER_TOOL],
    stream: false,
  });
  if (typeof second.message.content !== 'string') throw new Error('no final answer from the backend');
}

async function roundTrips(url: string, run: (pool: Pool) => Promise<void>, count: number): Promise<Latency> {
  const pool = new Pool(url, { connections: 1 });
  try {
    for (let i = 0; i < 30; i += 1) await run(pool);
    const samples: number[] = [];
    for (let i = 0; i < count; i += 1) {
      const started = now();
      await run(pool);
      samples.push(now() - started);
    }
    return summarize(samples, 0);
  } finally {
    await pool.close();
  }
}

/** (g) Vega's CPU time per token over `CPU_TOKENS` streamed tokens in answers of `length` tokens. */
async function cpuPerToken(vega: Running & { apiKey: string }, length: number): Promise<number> {
  const requests = Math.max(3, Math.round(CPU_TOKENS / length));
  const body = { model: MODEL, stream: true, reasoning_effort: 'medium', messages: [{ role: 'user', content: `Answer in ${length} tokens.` }] };
  const pool = new Pool(vega.url, { connections: 1 });
  try {
    const request = async () => {
      const response = await pool.request({
        path: '/v1/chat/completions',
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': vega.apiKey },
        body: JSON.stringify(body),
      });
      await response.body.dump();
      if (response.statusCode !== 200) throw new Error(`HTTP ${response.statusCode}`);
    };
    for (let i = 0; i < 3; i += 1) await request();
    const before = cpuTimeMs(vega.pid);
    for (let i = 0; i < requests; i += 1) await request();
    return ((cpuTimeMs(vega.pid) - before) * 1000) / (requests * length);
  } finally {
    await pool.close();
  }
}

export interface ExchangeFigures {
  roundTripAddedP50: number;
  lastTokenAddedPercent: number;
  cpuFlat: boolean;
}

export async function exchangeBench(log: (line: string) => void = console.log): Promise<ExchangeFigures> {
  const capabilities = ['--models', MODEL, '--capabilities', 'tools,thinking', '--script', 'exchange'];
  const paced = await startFakeOllama([...capabilities, '--token-delay-ms', String(TOKEN_DELAY_MS)]);
  const fast = await startFakeOllama(capabilities);
  const env = { MODEL_NAME: MODEL, PII_MASKING: 'true', CACHE_TTL_SECONDS: '0', RATE_LIMIT_PER_MINUTE: '1000000', LOG_LEVEL: 'info' };
  const vegaPaced = await startVega({ ...env, OLLAMA_URL: paced.url });
  const vegaFast = await startVega({ ...env, OLLAMA_URL: fast.url });
  try {
    const headers = { 'x-api-key': vegaFast.apiKey };
    log(`(e) tool-call round trip (call, result, answer), 1 connection, ${ROUND_TRIPS} round trips`);
    const tripBackend = await roundTrips(fast.url, backendRoundTrip, ROUND_TRIPS);
    const tripVega = await roundTrips(vegaFast.url, (pool) => vegaRoundTrip(pool, headers), ROUND_TRIPS);
    const tripAdded = tripVega.p50 - tripBackend.p50;
    log(
      `  /v1/chat/completions ×2           p50 ${fmt(tripVega.p50)} ms  p99 ${fmt(tripVega.p99)} ms | backend p50 ${fmt(tripBackend.p50)} ms  p99 ${fmt(tripBackend.p99)} ms` +
        ` | added p50 ${fmt(tripAdded)} ms  p99 ${fmt(tripVega.p99 - tripBackend.p99)} ms`,
    );

    log(`(f) ${STREAM_TOKENS}-token streamed answer with thinking, one token every ${TOKEN_DELAY_MS} ms, ${STREAMS} streams`);
    const prompt = [{ role: 'user', content: `Answer in ${STREAM_TOKENS} tokens.` }];
    const [streamVega] = await streamTimes(
      [
        {
          target: {
            url: vegaPaced.url,
            path: '/v1/chat/completions',
            headers: { 'x-api-key': vegaPaced.apiKey },
            body: JSON.stringify({ model: MODEL, messages: prompt, stream: true, reasoning_effort: 'medium' }),
          },
          marker: '"reasoning_content":"',
        },
      ],
      STREAMS,
    );
    const [streamBackend] = await streamTimes(
      [{ target: { url: paced.url, path: '/api/chat', headers: {}, body: JSON.stringify({ model: MODEL, messages: prompt, stream: true, think: true }) }, marker: '"thinking":"' }],
      STREAMS,
    );
    const firstAdded = streamVega.first.p50 - streamBackend.first.p50;
    const lastAdded = streamVega.last.p50 - streamBackend.last.p50;
    const lastPercent = (100 * lastAdded) / streamBackend.last.p50;
    log(`  first token                       p50 ${fmt(streamVega.first.p50)} ms | backend p50 ${fmt(streamBackend.first.p50)} ms | added ${fmt(firstAdded)} ms`);
    log(
      `  last token                        p50 ${fmt(streamVega.last.p50)} ms | backend p50 ${fmt(streamBackend.last.p50)} ms | added ${fmt(lastAdded)} ms` +
        ` (${lastPercent.toFixed(2)} % of the backend's own)`,
    );

    log(`(g) Vega's CPU time per streamed token (thinking and text), ${CPU_TOKENS} tokens per length, unpaced`);
    const perToken: number[] = [];
    for (const length of CPU_LENGTHS) {
      perToken.push(await cpuPerToken(vegaFast, length));
      log(`  answers of ${String(length).padStart(4)} tokens              ${perToken.at(-1)!.toFixed(1).padStart(7)} µs per token`);
    }
    // The longest answers against the middle ones: a cost that grew with the answer's length
    // (re-reading the text so far, say) would show here; the shortest carry the per-request cost.
    const growth = perToken[2] / perToken[1];
    const cpuFlat = growth <= 1.2;

    log('targets (#18)');
    const verdict = (ok: boolean) => (ok ? 'met' : 'missed');
    log(`  (f) added time to last token ≤ 2 % of the backend's own: ${verdict(lastPercent <= 2)} (${lastPercent.toFixed(2)} %)`);
    log(`  (g) CPU per token flat in the token count: ${verdict(cpuFlat)} (${CPU_LENGTHS[2]} tokens cost ${growth.toFixed(2)}× per token what ${CPU_LENGTHS[1]} do)`);
    return { roundTripAddedP50: tripAdded, lastTokenAddedPercent: lastPercent, cpuFlat };
  } finally {
    await vegaPaced.stop();
    await vegaFast.stop();
    await paced.stop();
    await fast.stop();
  }
}

if (require.main === module) {
  exchangeBench().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
