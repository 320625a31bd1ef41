import { createHash } from 'node:crypto';
import { createServer, request as httpRequest, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Ollama } from 'ollama';
import { FakeOllama } from '../support/fake-ollama';
import { scopedKeys, startTestApp, TEST_API_KEY, type TestApp } from '../support/test-app';

// Model management through Vega with the unmodified `ollama` client (key in its headers option),
// and the audit log each call leaves behind.

const EXTRA_KEY = 'extra-key-0123456789abcdef';

/** A key policy as issue #21 will bring: only the primary key holds the admin scope. */
interface AuditItem {
  id: number;
  at: string;
  key_id: string;
  route: string;
  models: string[];
  outcome: 'ok' | 'error' | 'aborted';
  status: number;
  duration_ms: number;
  detail: string | null;
}

describe('Ollama model management (/api/pull, /api/create, /api/copy, /api/delete, /api/blobs)', () => {
  const fake = new FakeOllama({ models: ['mistral'], registry: ['llama3.2', 'qwen2.5:0.5b'] });
  let t: TestApp;
  let client: Ollama;

  beforeAll(async () => {
    await fake.start();
  });
  afterAll(async () => {
    await fake.stop();
  });
  beforeEach(async () => {
    t = await startTestApp({ OLLAMA_URL: fake.url });
    client = new Ollama({ host: t.url, headers: { Authorization: `Bearer ${TEST_API_KEY}` } });
  });
  afterEach(async () => {
    await t.close();
    fake.reset();
  });

  /** What Ollama itself lists now. */
  async function fakeModels(): Promise<string[]> {
    const { models } = (await (await fetch(`${fake.url}/api/tags`)).json()) as { models: { name: string }[] };
    return models.map((model) => model.name);
  }

  async function audit(query = ''): Promise<{ items: AuditItem[]; next_cursor: string | null }> {
    const res = await t.request(`/admin/audit${query}`);
    expect(res.status).toBe(200);
    return res.json();
  }

  describe('POST /api/pull', () => {
    it('relays the progress lines as Ollama sends them, and audits the pull', async () => {
      const stream = await client.pull({ model: 'llama3.2', stream: true });
      const lines: { status: string; digest?: string; total?: number; completed?: number }[] = [];
      for await (const part of stream) lines.push(part);
      expect(lines[0]).toEqual({ status: 'pulling manifest' });
      const layer = lines.filter((line) => line.digest !== undefined);
      expect(layer.length).toBe(5);
      expect(layer[0]).toEqual({ status: expect.stringMatching(/^pulling [0-9a-f]{12}$/), digest: expect.stringMatching(/^sha256:[0-9a-f]{64}$/), total: 4_113_301_824 });
      expect(layer[4].completed).toBe(4_113_301_824);
      expect(lines.slice(-3).map((line) => line.status)).toEqual(['verifying sha256 digest', 'writing manifest', 'success']);
      expect((await fakeModels())).toContain('llama3.2:latest');

      const { items } = await audit();
      expect(items[0]).toEqual({
        id: expect.any(Number),
        at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
        key_id: 'primary',
        route: 'POST /api/pull',
        models: ['llama3.2'],
        outcome: 'ok',
        status: 200,
        duration_ms: expect.any(Number),
        detail: 'success',
      });
    });

    it('hands each progress line on as it comes, not at the end', async () => {
      const slow = new FakeOllama({ models: ['mistral'], registry: ['llama3.2'], progressDelayMs: 300 });
      await slow.start();
      const app = await startTestApp({ OLLAMA_URL: slow.url });
      try {
        const ollama = new Ollama({ host: app.url, headers: { Authorization: `Bearer ${TEST_API_KEY}` } });
        const arrivals: number[] = [];
        for await (const _line of await ollama.pull({ model: 'llama3.2', stream: true })) arrivals.push(Date.now());
        // 9 lines 300 ms apart: buffered, they would all arrive within a few ms of each other.
        expect(arrivals.length).toBe(9);
        expect(arrivals[arrivals.length - 1] - arrivals[0]).toBeGreaterThan(1500);
      } finally {
        await app.close();
        await slow.stop();
      }
    });

    it('answers stream:false with the last line alone', async () => {
      await expect(client.pull({ model: 'qwen2.5:0.5b', stream: false })).resolves.toEqual({ status: 'success' });
    });

    it("passes Ollama's failure on: an error line in a stream, a 500 without one, both audited as errors", async () => {
      const stream = await client.pull({ model: 'no-such-model', stream: true });
      const seen: string[] = [];
      await expect(
        (async () => {
          for await (const line of stream) seen.push(line.status);
        })(),
      ).rejects.toThrow('pull model manifest: file does not exist');
      expect(seen).toEqual(['pulling manifest']);

      const whole = await t.request('/api/pull', { body: { model: 'no-such-model', stream: false } });
      expect(whole.status).toBe(500);
      expect(await whole.json()).toEqual({ error: 'pull model manifest: file does not exist' });

      const { items } = await audit('?outcome=error');
      expect(items.map(({ route, models, outcome, status, detail }) => ({ route, models, outcome, status, detail }))).toEqual([
        { route: 'POST /api/pull', models: ['no-such-model'], outcome: 'error', status: 500, detail: 'pull model manifest: file does not exist' },
        { route: 'POST /api/pull', models: ['no-such-model'], outcome: 'error', status: 200, detail: 'pull model manifest: file does not exist' },
      ]);
    });

    it('ends the stream with an {"error"} line when Ollama goes away mid-pull, and audits the error', async () => {
      const dying = new FakeOllama({ models: ['mistral'], registry: ['llama3.2'], progressDelayMs: 400 });
      await dying.start();
      const app = await startTestApp({ OLLAMA_URL: dying.url });
      try {
        const ollama = new Ollama({ host: app.url, headers: { Authorization: `Bearer ${TEST_API_KEY}` } });
        const seen: string[] = [];
        await expect(
          (async () => {
            for await (const line of await ollama.pull({ model: 'llama3.2', stream: true })) {
              seen.push(line.status);
              if (seen.length === 1) await dying.stop();
            }
          })(),
        ).rejects.toThrow(/^the connection to Ollama was lost/);
        expect(seen).toEqual(['pulling manifest']);
        const audit = (await (await app.request('/admin/audit')).json()) as { items: AuditItem[] };
        expect(audit.items[0]).toEqual(expect.objectContaining({ route: 'POST /api/pull', outcome: 'error', status: 200, detail: expect.stringMatching(/^the connection to Ollama was lost/) }));
      } finally {
        await app.close();
        await dying.stop();
      }
    });

    it('cancels the pull upstream when the client goes away, and audits it as aborted', async () => {
      const slow = new FakeOllama({ models: ['mistral'], registry: ['llama3.2'], progressDelayMs: 400 });
      await slow.start();
      const app = await startTestApp({ OLLAMA_URL: slow.url });
      try {
        const ollama = new Ollama({ host: app.url, headers: { Authorization: `Bearer ${TEST_API_KEY}` } });
        const stream = await ollama.pull({ model: 'llama3.2', stream: true });
        for await (const line of stream) {
          if (line.status === 'pulling manifest') break;
        }
        stream.abort();
        const upstream = await waitFor(() => slow.requests.find((request) => request.path === '/api/pull' && request.aborted));
        expect(upstream.completed).toBe(false);
        const row = await waitFor(async () => {
          const res = await app.request('/admin/audit?outcome=aborted');
          const body = (await res.json()) as { items: AuditItem[] };
          return body.items[0];
        });
        expect(row).toEqual(expect.objectContaining({ route: 'POST /api/pull', models: ['llama3.2'], outcome: 'aborted', status: 200 }));
        expect(row.detail).toContain('the client went away');
      } finally {
        await app.close();
        await slow.stop();
      }
    });
  });

  describe('POST /api/push', () => {
    it('relays the upload progress of a model Ollama has', async () => {
      const lines: string[] = [];
      for await (const line of await client.push({ model: 'mistral', stream: true })) lines.push(line.status);
      expect(lines[0]).toBe('retrieving manifest');
      expect(lines.slice(-2)).toEqual(['pushing manifest', 'success']);
      expect((await audit('?route=/api/push')).items[0]).toEqual(expect.objectContaining({ models: ['mistral'], outcome: 'ok', status: 200 }));
    });
  });

  describe('POST /api/create', () => {
    it('creates a model from an existing one, with the progress lines', async () => {
      const lines: string[] = [];
      for await (const line of await client.create({ model: 'mistral-terse', from: 'mistral', system: 'Answer in one line.', stream: true })) lines.push(line.status);
      expect(lines[0]).toBe('using existing layer sha256:' + createHash('sha256').update('mistral:latest').digest('hex'));
      expect(lines[lines.length - 1]).toBe('success');
      expect(fake.createdModel('mistral-terse')).toEqual(expect.objectContaining({ from: 'mistral', system: 'Answer in one line.' }));
      expect((await audit('?route=POST%20/api/create')).items[0]).toEqual(
        expect.objectContaining({ key_id: 'primary', models: ['mistral-terse'], outcome: 'ok', status: 200, detail: 'from mistral' }),
      );
    });
  });

  describe('POST /api/copy and DELETE /api/delete', () => {
    it('copies and deletes a model, and passes Ollama’s 404 for a missing one', async () => {
      await expect(client.copy({ source: 'mistral', destination: 'mistral-backup' })).resolves.toEqual({ status: 'success' });
      expect((await fakeModels())).toContain('mistral-backup:latest');
      await expect(client.delete({ model: 'mistral-backup' })).resolves.toEqual({ status: 'success' });
      expect((await fakeModels())).not.toContain('mistral-backup:latest');

      await expect(client.copy({ source: 'ghost', destination: 'ghost2' })).rejects.toMatchObject({ status_code: 404, error: "model 'ghost' not found" });
      await expect(client.delete({ model: 'ghost' })).rejects.toMatchObject({ status_code: 404, error: "model 'ghost' not found" });
      const raw = await t.request('/api/delete', { method: 'DELETE', body: { model: 'ghost' } });
      expect(raw.status).toBe(404);
      expect(raw.headers.get('content-type')).toBe('application/json; charset=utf-8');
      expect(await raw.json()).toEqual({ error: "model 'ghost' not found" });

      const { items } = await audit();
      expect(items.map(({ route, models, outcome, status }) => ({ route, models, outcome, status }))).toEqual([
        { route: 'DELETE /api/delete', models: ['ghost'], outcome: 'error', status: 404 },
        { route: 'DELETE /api/delete', models: ['ghost'], outcome: 'error', status: 404 },
        { route: 'POST /api/copy', models: ['ghost', 'ghost2'], outcome: 'error', status: 404 },
        { route: 'DELETE /api/delete', models: ['mistral-backup'], outcome: 'ok', status: 200 },
        { route: 'POST /api/copy', models: ['mistral', 'mistral-backup'], outcome: 'ok', status: 200 },
      ]);
      expect(items[0].detail).toBe("model 'ghost' not found");
    });
  });

  describe('HEAD and POST /api/blobs/:digest', () => {
    it('passes an upload larger than the global body limit through, whatever its content type, and answers as Ollama does', async () => {
      const bytes = Buffer.alloc(3 * 1024 * 1024, 7); // over the global body limit
      const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
      expect((await t.request(`/api/blobs/${digest}`, { method: 'HEAD' })).status).toBe(404);

      // Announced as JSON, as Ollama's own CLI sends blobs: still not parsed.
      const status = await new Promise<number>((resolve, reject) => {
        const req = httpRequest(`${t.url}/api/blobs/${digest}`, {
          method: 'POST',
          headers: { 'x-api-key': TEST_API_KEY, 'content-type': 'application/json', 'content-length': bytes.length },
        });
        req.on('response', (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
        req.write(bytes.subarray(0, 1024 * 1024));
        setTimeout(() => req.end(bytes.subarray(1024 * 1024)), 200);
      });
      expect(status).toBe(201);
      expect(fake.blobDigests()).toContain(digest);
      expect((await t.request(`/api/blobs/${digest}`, { method: 'HEAD' })).status).toBe(200);

      const wrong = await fetch(`${t.url}/api/blobs/sha256:${'0'.repeat(64)}`, { method: 'POST', headers: { 'x-api-key': TEST_API_KEY }, body: 'not those bytes' });
      expect(wrong.status).toBe(400);
      expect(((await wrong.json()) as { error: string }).error).toMatch(/^digest mismatch/);

      const { items } = await audit('?route=/api/blobs/:digest');
      expect(items.map(({ route, outcome, status, detail }) => ({ route, outcome, status, detail }))).toEqual([
        { route: 'POST /api/blobs/:digest', outcome: 'error', status: 400, detail: expect.stringMatching(/^digest mismatch/) },
        { route: 'HEAD /api/blobs/:digest', outcome: 'ok', status: 200, detail: digest },
        { route: 'POST /api/blobs/:digest', outcome: 'ok', status: 201, detail: `${digest} (${bytes.length} bytes)` },
        { route: 'HEAD /api/blobs/:digest', outcome: 'error', status: 404, detail: 'HTTP 404' },
      ]);
    });

    it('hands the first bytes of an upload to Ollama before the client has sent the rest (nothing is held)', async () => {
      // An upstream that says when the first bytes arrive, and answers once the body ends.
      let firstBytes: (() => void) | undefined;
      const arrived = new Promise<void>((resolve) => (firstBytes = resolve));
      let received = 0;
      const upstream = createServer((req: IncomingMessage, res) => {
        req.on('data', (chunk: Buffer) => {
          received += chunk.length;
          firstBytes?.();
        });
        req.on('end', () => res.writeHead(201, { 'content-length': 0 }).end());
      });
      await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
      const app = await startTestApp({ OLLAMA_URL: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}` });
      try {
        const digest = `sha256:${'b'.repeat(64)}`;
        const req = httpRequest(`${app.url}/api/blobs/${digest}`, { method: 'POST', headers: { 'x-api-key': TEST_API_KEY, 'content-type': 'application/octet-stream' } });
        const status = new Promise<number>((resolve, reject) => {
          req.on('response', (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          });
          req.on('error', reject);
        });
        req.write(Buffer.alloc(64 * 1024, 1)); // chunked: no length announced
        await arrived; // were the body held until its end, this would never resolve
        expect(received).toBeGreaterThan(0);
        req.end(Buffer.alloc(64 * 1024, 2));
        expect(await status).toBe(201);
        expect(received).toBe(128 * 1024);
      } finally {
        await app.close();
        await new Promise((resolve) => upstream.close(resolve));
      }
    });

    it('with several OLLAMA_URL hosts, sends an upload to the first that answers', async () => {
      const app = await startTestApp({ OLLAMA_URL: `http://127.0.0.1:9,${fake.url}` });
      try {
        const bytes = Buffer.from('a small adapter');
        const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
        const res = await fetch(`${app.url}/api/blobs/${digest}`, { method: 'POST', headers: { 'x-api-key': TEST_API_KEY }, body: bytes });
        expect(res.status).toBe(201);
        expect(fake.blobDigests()).toContain(digest);
      } finally {
        await app.close();
      }
    });

    it('refuses a malformed digest before it reaches Ollama', async () => {
      const res = await t.request('/api/blobs/sha256:..', { method: 'POST', body: 'x' });
      expect(res.status).toBe(400);
      expect(await res.json()).toEqual({ error: 'invalid digest format' });
      expect((await t.request('/api/blobs/sha256:..', { method: 'HEAD' })).status).toBe(400);
      expect(fake.requests.filter((request) => request.path.startsWith('/api/blobs'))).toEqual([]);
      expect((await audit()).items.map(({ route, outcome, status, detail }) => ({ route, outcome, status, detail }))).toEqual([
        { route: 'HEAD /api/blobs/:digest', outcome: 'error', status: 400, detail: 'invalid digest format' },
        { route: 'POST /api/blobs/:digest', outcome: 'error', status: 400, detail: 'invalid digest format' },
      ]);
    });
  });

  describe('who may manage models', () => {
    it('refuses a key without the admin scope with 403 naming the scope, in Ollama’s shape, audited, and nothing reaches Ollama', async () => {
      const app = await startTestApp({ OLLAMA_URL: fake.url }, { keyStores: [scopedKeys({ [EXTRA_KEY]: ['chat'] })] });
      try {
        const ollama = new Ollama({ host: app.url, headers: { Authorization: `Bearer ${EXTRA_KEY}` } });
        await expect(ollama.pull({ model: 'llama3.2' })).rejects.toMatchObject({ status_code: 403, error: 'This route needs a key with the admin scope' });
        await expect(ollama.delete({ model: 'mistral' })).rejects.toMatchObject({ status_code: 403 });
        const blob = await fetch(`${app.url}/api/blobs/sha256:${'a'.repeat(64)}`, { method: 'POST', headers: { authorization: `Bearer ${EXTRA_KEY}` }, body: 'bytes' });
        expect(blob.status).toBe(403);
        expect(await blob.json()).toEqual({ error: 'This route needs a key with the admin scope' });
        expect((await app.request('/admin/audit', { key: EXTRA_KEY })).status).toBe(403);
        expect(fake.requests.filter((request) => request.path !== '/api/version' && request.path !== '/api/tags')).toEqual([]);
        // The refusals are in the audit log, under the key that was refused.
        const refused = await waitFor(async () => {
          const { items } = (await (await app.request('/admin/audit?outcome=error')).json()) as { items: AuditItem[] };
          return items.length === 3 ? items : undefined;
        });
        expect(refused.map(({ key_id, route, models, status, detail }) => ({ key_id, route, models, status, detail })).sort((a, b) => a.route.localeCompare(b.route))).toEqual([
          { key_id: 'key-1', route: 'DELETE /api/delete', models: ['mistral'], status: 403, detail: 'This route needs a key with the admin scope' },
          { key_id: 'key-1', route: 'POST /api/blobs/:digest', models: [], status: 403, detail: 'This route needs a key with the admin scope' },
          { key_id: 'key-1', route: 'POST /api/pull', models: ['llama3.2'], status: 403, detail: 'This route needs a key with the admin scope' },
        ]);
        // The admin key still may.
        expect((await app.request('/api/copy', { body: { source: 'mistral', destination: 'kept' } })).status).toBe(200);
      } finally {
        await app.close();
      }
    });

    it('refuses a request without a key with 401 in Ollama’s shape', async () => {
      const res = await t.request('/api/pull', { body: { model: 'llama3.2' }, key: null });
      expect(res.status).toBe(401);
      expect(await res.json()).toEqual({ error: expect.stringMatching(/^Missing API key/) });
    });

    it('answers 503 in Ollama’s shape when no Ollama host answers, and audits it', async () => {
      const app = await startTestApp({ OLLAMA_URL: 'http://127.0.0.1:9' });
      try {
        const res = await app.request('/api/copy', { body: { source: 'mistral', destination: 'x' } });
        expect(res.status).toBe(503);
        expect(res.headers.get('retry-after')).toBe('5');
        expect(await res.json()).toEqual({ error: expect.stringMatching(/^Ollama is unreachable at http:\/\/127\.0\.0\.1:9/) });
        const audit = (await (await app.request('/admin/audit')).json()) as { items: AuditItem[] };
        expect(audit.items[0]).toEqual(expect.objectContaining({ route: 'POST /api/copy', models: ['mistral', 'x'], outcome: 'error', status: 503 }));
      } finally {
        await app.close();
      }
    });
  });

  describe('GET /admin/audit', () => {
    it('pages newest first with limit and cursor, and filters by route, outcome and since', async () => {
      await client.copy({ source: 'mistral', destination: 'a1' });
      await client.copy({ source: 'mistral', destination: 'a2' });
      await client.delete({ model: 'a1' });
      await expect(client.delete({ model: 'a1' })).rejects.toThrow();

      const first = await audit('?limit=3');
      expect(first.items.map((item) => item.models)).toEqual([['a1'], ['a1'], ['mistral', 'a2']]);
      expect(first.next_cursor).toEqual(expect.any(String));
      const second = await audit(`?limit=3&cursor=${first.next_cursor}`);
      expect(second.items.map((item) => item.models)).toEqual([['mistral', 'a1']]);
      expect(second.next_cursor).toBeNull();

      expect((await audit('?route=/api/copy')).items).toHaveLength(2);
      expect((await audit('?route=DELETE%20/api/delete&outcome=ok')).items.map((item) => item.models)).toEqual([['a1']]);
      expect((await audit('?since=2999-01-01')).items).toEqual([]);
      expect((await audit(`?since=${encodeURIComponent(new Date(Date.now() - 60_000).toISOString())}`)).items).toHaveLength(4);
    });

    it('refuses bad filters with 400', async () => {
      for (const query of ['?limit=0', '?outcome=maybe', '?since=yesterday', '?route=pull', '?cursor=!!']) {
        const res = await t.request(`/admin/audit${query}`);
        expect({ query, status: res.status }).toEqual({ query, status: 400 });
      }
    });
  });
});

async function waitFor<T>(probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
