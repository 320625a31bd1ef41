import { Client } from 'pg';
import { eventually } from '../support/eventually';
import { FakeOllama } from '../support/fake-ollama';
import { describeWithPostgres } from '../support/postgres';
import { Metrics } from '../support/prometheus';
import { VegaProcess } from '../support/vega-process';

/** Generous for a loaded machine, yet far below "never": without the client timeouts a chat waits for as long as the server hangs. */
const ANSWER_BOUND_MS = 15_000;
const SESSIONS = 4;
const CHATS_PER_SESSION = 3;

const headers = (vega: VegaProcess) => ({ 'content-type': 'application/json', 'x-api-key': vega.apiKey });

describeWithPostgres('PostgreSQL that hangs (every process stopped): chats are answered within the client timeouts, and stored once when it resumes', (server) => {
  const fake = new FakeOllama({ reply: () => 'ok' });
  const vega = new VegaProcess();
  let url: string;

  const prompts = async (): Promise<string[]> => {
    const client = new Client({ connectionString: url });
    await client.connect();
    try {
      return (await client.query<{ prompt: string }>('SELECT prompt FROM conversations ORDER BY id')).rows.map((row) => row.prompt);
    } finally {
      await client.end();
    }
  };

  const chat = async (prompt: string, session: string) => {
    const started = Date.now();
    const res = await fetch(`${vega.url}/chat`, { method: 'POST', headers: headers(vega), body: JSON.stringify({ prompt, session_id: session }) });
    await res.arrayBuffer();
    return { prompt, status: res.status, ms: Date.now() - started };
  };

  const fsyncs = async () => new Metrics(await (await fetch(`${vega.url}/metrics`)).text()).value('vega_spool_fsyncs_total');

  beforeAll(async () => {
    await fake.start();
    url = await server().createDatabase();
    await vega.start(
      {
        DATABASE_URL: url,
        OLLAMA_URL: fake.url,
        RATE_LIMIT_PER_MINUTE: '0',
        LOG_LEVEL: 'warn',
        DB_QUERY_TIMEOUT_SEC: '1',
        DB_CONNECT_TIMEOUT_SEC: '1',
      },
      90_000,
    );
  }, 120_000);

  afterAll(async () => {
    await vega.dispose();
    await fake.stop();
  });

  it('answers every chat within seconds, reports degraded, answers reads 503 with Retry-After; after SIGCONT each exchange is stored exactly once', async () => {
    for (let i = 0; i < 3; i++) expect((await chat(`before ${i}`, 'before')).status).toBe(200);
    expect(await prompts()).toEqual(['before 0', 'before 1', 'before 2']);
    const fsyncsBefore = await fsyncs();
    expect(fsyncsBefore).toBe(0);

    await server().pause();
    let outage: {
      chats: Awaited<ReturnType<typeof chat>>[];
      ready: { status: number; body: Record<string, any> };
      history: { status: number; retryAfter: string | null; message: string; ms: number };
      fsyncs: number | undefined;
    };
    try {
      // Sessions side by side, each session's chats one after the other (its memory is read each time).
      const chats = (
        await Promise.all(
          Array.from({ length: SESSIONS }, async (_, s) => {
            const answered = [];
            for (let i = 0; i < CHATS_PER_SESSION; i++) answered.push(await chat(`hang session ${s} chat ${i}`, `hang-${s}`));
            return answered;
          }),
        )
      ).flat();
      const ready = await fetch(`${vega.url}/readyz`).then(async (res) => ({ status: res.status, body: (await res.json()) as Record<string, any> }));
      const started = Date.now();
      const res = await fetch(`${vega.url}/history`, { headers: headers(vega) });
      const history = { status: res.status, retryAfter: res.headers.get('retry-after'), message: ((await res.json()) as { message: string }).message, ms: Date.now() - started };
      outage = { chats, ready, history, fsyncs: await fsyncs() };
    } finally {
      await server().resume();
    }

    expect(outage.chats.filter((answer) => answer.status !== 200)).toEqual([]);
    expect(outage.chats.filter((answer) => answer.ms > ANSWER_BOUND_MS)).toEqual([]);
    // Once a memory read met the server hung and exchanges wait in the spool, no chat waits for another read (DB_QUERY_TIMEOUT_SEC, 1 s here).
    expect(outage.chats.filter((answer, i) => i % CHATS_PER_SESSION !== 0 && answer.ms >= 1000)).toEqual([]);
    expect(outage.ready.status).toBe(200);
    expect(outage.ready.body).toMatchObject({ degraded: true, details: { database: { status: 'degraded', spool_pending: true } } });
    expect(outage.history).toMatchObject({ status: 503, retryAfter: '5' });
    expect(outage.history.message).toMatch(/^the database is unavailable \(the server did not (answer within DB_QUERY_TIMEOUT_SEC|accept a connection within DB_CONNECT_TIMEOUT_SEC)\)/);
    expect(outage.history.ms).toBeLessThan(ANSWER_BOUND_MS);
    // Each spooled exchange was synced before its answer; never more fsyncs than exchanges.
    expect(outage.fsyncs).toBeGreaterThanOrEqual(1);
    expect(outage.fsyncs).toBeLessThanOrEqual(SESSIONS * CHATS_PER_SESSION);

    // Resumed: the spool drains, and a write that timed out but was committed once the server ran again is not stored twice.
    const drained = await eventually(
      () => fetch(`${vega.url}/readyz`).then((res) => res.json() as Promise<Record<string, any>>),
      (body) => body.details?.database?.status === 'up' && body.details.database.spool_pending === undefined,
      60_000,
      200,
    );
    expect(drained.details.database).toMatchObject({ status: 'up' });
    const stored = await prompts();
    const expected = outage.chats.map((answer) => answer.prompt);
    expect(stored.slice(3).sort()).toEqual([...expected].sort());
    // In each session, in the order the chats were answered.
    for (let s = 0; s < SESSIONS; s++) {
      const session = stored.filter((prompt) => prompt.startsWith(`hang session ${s} `));
      expect(session).toEqual(Array.from({ length: CHATS_PER_SESSION }, (_, i) => `hang session ${s} chat ${i}`));
    }
    expect((await chat('after', 'after')).status).toBe(200);
    await eventually(prompts, (all) => all.includes('after'), 10_000, 100);
    expect((await prompts()).filter((prompt) => prompt === 'after')).toHaveLength(1);
  }, 180_000);
});
