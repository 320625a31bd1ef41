/**
 * `npm run bench:research` (after `npm run build`): POST /research/summarize over 5 pages
 * that each take 300 ms to answer. Vega (from dist/) and the fake Ollama run in their own
 * processes; the fake SearXNG and the slow pages are served from this one, which records
 * when each page request arrived and when its answer was finished.
 *
 * The figure is the fetch phase: from the first page request to the last finished page.
 * Fetched one after another it would be ≥ 1.5 s; the target is ≤ 0.5 s.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startFakeOllama, startVega } from './processes';

const PAGES = 5;
const PAGE_DELAY_MS = 300;
const RUNS = Number(process.env.BENCH_RUNS ?? 5);

const ARTICLE = `<html><head><title>Page</title></head><body><main>${'<p>A circuit breaker stops calls to a failing service and lets a trial call through later.</p>'.repeat(40)}</main></body></html>`;

async function listen(server: Server): Promise<string> {
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function main(): Promise<void> {
  let spans: { start: number; end: number }[] = [];
  const pages = createServer((req, res) => {
    const span = { start: performance.now(), end: 0 };
    spans.push(span);
    setTimeout(() => {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(ARTICLE, () => {
        span.end = performance.now();
      });
    }, PAGE_DELAY_MS);
  });
  const pagesUrl = await listen(pages);
  const searx = createServer((_req, res) => {
    const results = Array.from({ length: PAGES }, (_, i) => ({ title: `Page ${i + 1}`, url: `${pagesUrl}/page${i + 1}`, content: 'snippet' }));
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ query: 'q', results }));
  });
  const searxUrl = await listen(searx);
  const fake = await startFakeOllama();
  const vega = await startVega({
    OLLAMA_URL: fake.url,
    SEARCH_PROVIDER: 'searxng',
    SEARXNG_URL: searxUrl,
    FETCH_ALLOW_HOSTS: new URL(pagesUrl).host,
    CACHE_TTL_SECONDS: '0',
    RATE_LIMIT_PER_MINUTE: '0',
    LOG_LEVEL: 'info',
  });
  try {
    console.log(`research/summarize benchmark — ${new Date().toISOString()} — node ${process.version}, ${require('node:os').cpus().length} CPUs`);
    console.log(`${PAGES} pages, each answering after ${PAGE_DELAY_MS} ms; ${RUNS} runs`);
    const fetchPhases: number[] = [];
    for (let run = 0; run < RUNS; run += 1) {
      spans = [];
      const started = performance.now();
      const res = await fetch(`${vega.url}/research/summarize`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': vega.apiKey },
        body: JSON.stringify({ query: `circuit breaker ${run}`, max_results: PAGES }),
      });
      const body = (await res.json()) as { items?: { error: string | null }[] };
      const total = performance.now() - started;
      const failed = body.items?.filter((item) => item.error).length ?? -1;
      if (res.status !== 200 || failed !== 0 || spans.length !== PAGES) {
        throw new Error(`run ${run}: HTTP ${res.status}, ${spans.length} page requests, ${failed} failed: ${JSON.stringify(body)}`);
      }
      const fetchMs = Math.max(...spans.map((s) => s.end)) - Math.min(...spans.map((s) => s.start));
      fetchPhases.push(fetchMs);
      console.log(`run ${run + 1}: fetch phase ${fetchMs.toFixed(0)} ms, whole request ${total.toFixed(0)} ms`);
    }
    const worst = Math.max(...fetchPhases);
    console.log(`fetch phase: best ${Math.min(...fetchPhases).toFixed(0)} ms, worst ${worst.toFixed(0)} ms (target ≤ 500 ms; sequential would be ≥ ${PAGES * PAGE_DELAY_MS} ms)`);
    process.exitCode = worst <= 500 ? 0 : 1;
  } finally {
    await vega.stop();
    await fake.stop();
    pages.close();
    searx.close();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
