/**
 * `npm run bench:username` (after `npm run build`): POST /osint/username over the full bundled
 * site list (adult sites included), every site rewritten to a local server that answers each
 * profile after 200 ms. Vega (from dist/) runs in its own process. Target: ≤ 1.5 s (the original
 * probed the sites one after another: sites × 200 ms).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadUsernameSites } from '../src/modules/osint/username-sites';
import { startVega } from './processes';

const DELAY_MS = 200;
const RUNS = Number(process.env.BENCH_RUNS ?? 5);

async function main(): Promise<void> {
  const profiles = createServer((_req, res) => {
    setTimeout(() => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<div class="tgme_page_title">profile</div>');
    }, DELAY_MS);
  });
  await new Promise<void>((done) => profiles.listen(0, '127.0.0.1', done));
  const origin = `http://127.0.0.1:${(profiles.address() as AddressInfo).port}`;
  const sites = loadUsernameSites().map((site) => ({ ...site, url: site.url.replace(/^https?:\/\//, `${origin}/`) }));
  const dir = mkdtempSync(join(tmpdir(), 'vega-bench-sites-'));
  const file = join(dir, 'sites.json');
  writeFileSync(file, JSON.stringify(sites));
  const vega = await startVega({ USERNAME_SITES_FILE: file, FETCH_ALLOW_HOSTS: new URL(origin).host, RATE_LIMIT_PER_MINUTE: '0', LOG_LEVEL: 'info' });
  try {
    console.log(`username probe benchmark — ${new Date().toISOString()} — node ${process.version}, ${require('node:os').cpus().length} CPUs`);
    console.log(`${sites.length} sites, each profile answering after ${DELAY_MS} ms; ${RUNS} runs`);
    const times: number[] = [];
    for (let run = 0; run < RUNS; run += 1) {
      const started = performance.now();
      const res = await fetch(`${vega.url}/osint/username`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': vega.apiKey },
        body: JSON.stringify({ username: 'benchuser', include_nsfw: true }),
      });
      const body = (await res.json()) as { items?: { exists: boolean | null }[] };
      const ms = performance.now() - started;
      const found = body.items?.filter((item) => item.exists).length ?? 0;
      if (res.status !== 200 || body.items?.length !== sites.length) throw new Error(`run ${run}: HTTP ${res.status} ${JSON.stringify(body).slice(0, 300)}`);
      times.push(ms);
      console.log(`run ${run + 1}: ${ms.toFixed(0)} ms (${found}/${sites.length} found)`);
    }
    const worst = Math.max(...times);
    console.log(`username probe: best ${Math.min(...times).toFixed(0)} ms, worst ${worst.toFixed(0)} ms (target ≤ 1500 ms; one after another: ${sites.length * DELAY_MS} ms)`);
    process.exitCode = worst <= 1500 ? 0 : 1;
  } finally {
    await vega.stop();
    profiles.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
