import { Client } from 'pg';
import { CuttingProxy } from '../support/cutting-proxy';
import { eventually } from '../support/eventually';
import { FakeOllama } from '../support/fake-ollama';
import { describeWithPostgres } from '../support/postgres';
import { queryDb } from '../support/sqlite';
import { VegaProcess } from '../support/vega-process';

const CHATS = 2000;
const CONCURRENCY = 16;

interface Answered {
  session: string;
  seq: number;
  prompt: string;
}

const headers = (vega: VegaProcess) => ({ 'content-type': 'application/json', 'x-api-key': vega.apiKey });

/** Sends `total` chats from `workers` sessions, each session's chats one after the other; resolves with those answered 200. */
async function load(vega: VegaProcess, tag: string, total: number, workers: number, onAnswer?: (count: number) => void): Promise<{ answered: Answered[]; other: number[] }> {
  const answered: Answered[] = [];
  const other: number[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: workers }, async (_, worker) => {
      const session = `${tag}-${worker}`;
      for (let seq = 0; next < total; seq++) {
        next += 1;
        const prompt = `${tag} session ${worker} chat ${seq}`;
        const res = await fetch(`${vega.url}/chat`, { method: 'POST', headers: headers(vega), body: JSON.stringify({ prompt, session_id: session }) });
        await res.arrayBuffer();
        if (res.status === 200) {
          answered.push({ session, seq, prompt });
          onAnswer?.(answered.length);
        } else {
          other.push(res.status);
        }
      }
    }),
  );
  return { answered, other };
}

/** The stored rows of the exchanges `answered` names: each exactly once, and in each session in the order they were answered. */
function expectStoredOnceInOrder(rows: { id: number; session_id: string; prompt: string; ts: Date | string }[], answered: Answered[]): void {
  const prompts = rows.map((row) => row.prompt);
  expect(new Set(prompts).size).toBe(prompts.length);
  expect(prompts.sort()).toEqual(answered.map((a) => a.prompt).sort());
  const bySession = new Map<string, typeof rows>();
  for (const row of [...rows].sort((a, b) => a.id - b.id)) bySession.set(row.session_id, [...(bySession.get(row.session_id) ?? []), row]);
  for (const [session, stored] of bySession) {
    const seqs = stored.map((row) => Number(/chat (\d+)$/.exec(row.prompt)![1]));
    expect({ session, seqs }).toEqual({ session, seqs: [...seqs].sort((a, b) => a - b) });
    const times = stored.map((row) => new Date(row.ts).getTime());
    expect(times).toEqual([...times].sort((a, b) => a - b));
  }
}

describeWithPostgres('PostgreSQL down, and Vega killed with kill -9: no answered exchange is lost or stored twice', (server) => {
  const fake = new FakeOllama({ reply: () => 'ok' });
  const vega = new VegaProcess();
  let url: string;

  const rows = async () => {
    const client = new Client({ connectionString: url });
    await client.connect();
    try {
      return (await client.query<{ id: number; session_id: string; prompt: string; ts: Date }>('SELECT id, session_id, prompt, ts FROM conversations')).rows;
    } finally {
      await client.end();
    }
  };

  beforeAll(async () => {
    await fake.start();
    url = await server().createDatabase();
    await vega.start({ DATABASE_URL: url, OLLAMA_URL: fake.url, RATE_LIMIT_PER_MINUTE: '0', LOG_LEVEL: 'warn' }, 90_000);
  }, 120_000);

  afterAll(async () => {
    await vega.dispose();
    await fake.stop();
  });

  it(`answers ${CHATS} chats while PostgreSQL is killed and restarted; once it is back each answered exchange is stored once, in order`, async () => {
    let killAt!: () => void;
    const reachedKill = new Promise<void>((resolve) => (killAt = resolve));
    let restartAt!: () => void;
    const reachedRestart = new Promise<void>((resolve) => (restartAt = resolve));
    const outage: { ready?: { status: number; body: Record<string, any> }; history?: { status: number; retryAfter: string | null; message: string }; reads?: Record<string, number> } = {};
    const downAndUp = (async () => {
      await reachedKill;
      await server().kill();
      // Once a chat has gone to the spool.
      const ready = await eventually(
        () => fetch(`${vega.url}/readyz`).then(async (res) => ({ status: res.status, body: (await res.json()) as Record<string, any> })),
        (read) => read.body.details?.database?.spool_pending === true,
        30_000,
        50,
      );
      outage.ready = ready;
      const history = await fetch(`${vega.url}/history`, { headers: headers(vega) });
      outage.history = { status: history.status, retryAfter: history.headers.get('retry-after'), message: ((await history.json()) as { message: string }).message };
      outage.reads = {};
      for (const path of ['/admin/usage', '/admin/keys', '/admin/audit']) {
        const read = await fetch(`${vega.url}${path}`, { headers: headers(vega) });
        await read.arrayBuffer();
        outage.reads[path] = read.status;
      }
      await reachedRestart;
      await server().start();
    })();
    const { answered, other } = await load(vega, 'load', CHATS, CONCURRENCY, (count) => {
      if (count === 400) killAt();
      if (count === 1000) restartAt();
    });
    await downAndUp;

    // Chats were answered throughout; the outage was reported, never as a 500.
    expect(other).toEqual([]);
    expect(answered).toHaveLength(CHATS);
    expect(outage.ready!.status).toBe(200);
    expect(outage.ready!.body).toMatchObject({ degraded: true, details: { database: { status: 'degraded', spool_pending: true } } });
    expect(outage.history).toMatchObject({ status: 503, retryAfter: '5' });
    expect(outage.history!.message).toMatch(/^the database is unavailable/);
    expect(outage.reads).toEqual({ '/admin/usage': 503, '/admin/keys': 503, '/admin/audit': 503 });

    // The spool drains once the server is back.
    await eventually(
      () => fetch(`${vega.url}/readyz`).then((res) => res.json() as Promise<Record<string, any>>),
      (body) => body.details?.database?.status === 'up' && body.details.database.spool_pending === undefined,
      60_000,
      200,
    );
    expectStoredOnceInOrder(await rows(), answered);
  }, 300_000);

  it('loses no answered exchange when Vega is killed with kill -9 right after the last answer', async () => {
    const before = (await rows()).length;
    const { answered, other } = await load(vega, 'sigkill', 200, 8);
    vega.signal('SIGKILL');
    await vega.exited();
    expect(other).toEqual([]);
    await vega.start({ DATABASE_URL: url, OLLAMA_URL: fake.url, RATE_LIMIT_PER_MINUTE: '0', LOG_LEVEL: 'warn' }, 90_000);
    const stored = (await rows()).filter((row) => row.prompt.startsWith('sigkill '));
    expect(before + stored.length).toBe((await rows()).length);
    expectStoredOnceInOrder(stored, answered);
  }, 120_000);
});

describeWithPostgres('PostgreSQL: a write committed whose reply was lost', (server) => {
  const fake = new FakeOllama({ reply: () => 'ok' });
  const vega = new VegaProcess();
  let url: string;
  let proxy: CuttingProxy;

  beforeAll(async () => {
    await fake.start();
    url = await server().createDatabase();
    const target = new URL(url);
    proxy = new CuttingProxy(target.hostname, Number(target.port));
    await proxy.start();
    const viaProxy = new URL(url);
    viaProxy.port = String(proxy.port);
    await vega.start({ DATABASE_URL: viaProxy.toString(), OLLAMA_URL: fake.url, RATE_LIMIT_PER_MINUTE: '0', LOG_LEVEL: 'warn' }, 90_000);
  }, 120_000);

  afterAll(async () => {
    await vega.dispose();
    await proxy?.stop();
    await fake.stop();
  });

  it('is stored once: the spooled copy is not written again', async () => {
    // No session: the INSERT is the chat's only statement, so the reply the proxy drops is its.
    const cut = proxy.cutNextReply();
    const res = await fetch(`${vega.url}/chat`, { method: 'POST', headers: headers(vega), body: JSON.stringify({ prompt: 'committed but unanswered' }) });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ conversation_id: null, conversation_pending: true });
    await cut;
    const client = new Client({ connectionString: url });
    await client.connect();
    try {
      // The replay (every second) has run once the spool is empty.
      await eventually(
        () => fetch(`${vega.url}/readyz`).then((r) => r.json() as Promise<Record<string, any>>),
        (body) => body.details?.database?.status === 'up' && body.details.database.spool_pending === undefined,
        30_000,
        200,
      );
      const stored = await client.query(`SELECT count(*)::int AS n FROM conversations WHERE prompt = 'committed but unanswered'`);
      expect(stored.rows[0].n).toBe(1);
      // The next exchange is stored as usual.
      const next = await fetch(`${vega.url}/chat`, { method: 'POST', headers: headers(vega), body: JSON.stringify({ prompt: 'after the cut' }) });
      expect(((await next.json()) as { conversation_id: unknown }).conversation_id).toEqual(expect.any(Number));
    } finally {
      await client.end();
    }
  }, 120_000);
});

describe('Vega on SQLite killed with kill -9', () => {
  const fake = new FakeOllama({ reply: () => 'ok' });
  const vega = new VegaProcess();

  beforeAll(async () => {
    await fake.start();
  });

  afterAll(async () => {
    await vega.dispose();
    await fake.stop();
  });

  it('loses no answered exchange when killed right after the last answer', async () => {
    const env = { OLLAMA_URL: fake.url, RATE_LIMIT_PER_MINUTE: '0', LOG_LEVEL: 'warn' };
    await vega.start(env);
    const { answered, other } = await load(vega, 'sigkill', 200, 8);
    vega.signal('SIGKILL');
    await vega.exited();
    expect(other).toEqual([]);
    await vega.start(env);
    const stored = await queryDb<{ id: number; session_id: string; prompt: string; ts: string }>(vega.dbPath, 'SELECT id, session_id, prompt, ts FROM conversations');
    expectStoredOnceInOrder(stored, answered);
  }, 120_000);
});
