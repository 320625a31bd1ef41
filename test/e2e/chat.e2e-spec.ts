import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { queryDb } from '../support/sqlite';
import { tempDir, TestApp, useAppWithFakeOllama } from '../support/test-app';

interface Row {
  id: number;
  ts: string;
  prompt: string;
  response: string;
  source: string;
  session_id: string | null;
  model: string | null;
  status: string;
  prompt_tokens: number | null;
  completion_tokens: number | null;
  duration_ms: number | null;
  ttft_ms: number | null;
  reviewed: number;
}

describe('POST /chat', () => {
  const env = useAppWithFakeOllama(['mistral', 'llama3']);
  const fake = env.fake;
  let t: TestApp;

  const start = async (vars: Record<string, string> = {}) => {
    t = await env.start(vars);
    return t;
  };
  const rows = () => queryDb<Row>(t.dbPath, 'SELECT * FROM conversations ORDER BY id');

  it('answers, and stores the exchange with its model, status, tokens and timings', async () => {
    await start();
    const res = await t.request('/chat', { body: { prompt: 'hello there' } });
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body).toEqual({
      response: 'Echo: hello there',
      conversation_id: 1,
      session_id: expect.stringMatching(/^[0-9a-f]{16}$/),
      model: 'mistral',
      cached: false,
      usage: { prompt_tokens: expect.any(Number), completion_tokens: expect.any(Number) },
    });
    expect(body.usage.completion_tokens).toBeGreaterThan(0);
    const [row] = await rows();
    expect(row).toMatchObject({
      id: 1,
      prompt: 'hello there',
      response: 'Echo: hello there',
      source: 'api',
      session_id: body.session_id,
      model: 'mistral',
      status: 'ok',
      prompt_tokens: body.usage.prompt_tokens,
      completion_tokens: body.usage.completion_tokens,
      reviewed: 0,
    });
    expect(row.duration_ms).toEqual(expect.any(Number));
    expect(row.ttft_ms).toEqual(expect.any(Number));
    expect(row.ts).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}$/);
  });

  it('sends the model, the generation options and the request options to Ollama', async () => {
    await start({ GEN_TEMPERATURE: '0.3' });
    await t.request('/chat', { body: { prompt: 'x', model: 'llama3', options: { num_predict: 12, top_k: 5 } } });
    const sent = fake.chatRequests()[0].body;
    expect(sent.model).toBe('llama3');
    expect(sent.stream).toBe(true);
    expect(sent.options).toMatchObject({ temperature: 0.3, top_p: 0.9, top_k: 5, num_predict: 12 });
  });

  it('sends the system prompt first and the session history as chat messages, oldest first', async () => {
    const { dir, remove } = tempDir();
    const promptFile = join(dir, 'system.txt');
    writeFileSync(promptFile, 'You are Vega.\n');
    try {
      await start({ SYSTEM_PROMPT_FILE: promptFile, MEMORY_TURNS: '2' });
      const first = await (await t.request('/chat', { body: { prompt: 'one' } })).json();
      const session = first.session_id as string;
      await t.request('/chat', { body: { prompt: 'two', session_id: session } });
      await t.request('/chat', { body: { prompt: 'three', session_id: session } });
      await t.request('/chat', { body: { prompt: 'four', session_id: session } });
      const messages = fake.chatRequests()[3].body.messages;
      expect(messages).toEqual([
        { role: 'system', content: 'You are Vega.' },
        { role: 'user', content: 'two' },
        { role: 'assistant', content: 'Echo: two' },
        { role: 'user', content: 'three' },
        { role: 'assistant', content: 'Echo: three' },
        { role: 'user', content: 'four' },
      ]);
      // Another session does not see this one's history.
      await t.request('/chat', { body: { prompt: 'alone', session_id: 'other-session' } });
      expect(fake.chatRequests()[4].body.messages).toEqual([
        { role: 'system', content: 'You are Vega.' },
        { role: 'user', content: 'alone' },
      ]);
    } finally {
      remove();
    }
  });

  it('keeps the client-given session id', async () => {
    await start();
    const body = await (await t.request('/chat', { body: { prompt: 'x', session_id: 'my_session-1' } })).json();
    expect(body.session_id).toBe('my_session-1');
  });

  it('answers the same request from the cache the second time, and stores it as cached', async () => {
    await start();
    const first = await (await t.request('/chat', { body: { prompt: 'same question' } })).json();
    const second = await (await t.request('/chat', { body: { prompt: 'same question' } })).json();
    expect(first.cached).toBe(false);
    expect(second).toMatchObject({ cached: true, response: first.response, usage: first.usage });
    expect(fake.chatRequests()).toHaveLength(1);
    expect((await rows()).map((r) => r.status)).toEqual(['ok', 'cached']);
  });

  it('does not cache when CACHE_TTL_SECONDS is 0', async () => {
    await start({ CACHE_TTL_SECONDS: '0' });
    await t.request('/chat', { body: { prompt: 'q' } });
    const second = await (await t.request('/chat', { body: { prompt: 'q' } })).json();
    expect(second.cached).toBe(false);
    expect(fake.chatRequests()).toHaveLength(2);
  });

  it('truncates a long answer to MAX_RESPONSE_CHARS with "…" and stops the generation', async () => {
    await start({ MAX_RESPONSE_CHARS: '10' });
    fake.enqueue({ kind: 'slow', delayMs: 30 });
    const body = await (await t.request('/chat', { body: { prompt: 'one two three four five six seven' } })).json();
    expect(body.response).toBe('Echo: one …');
    expect((await rows())[0]).toMatchObject({ response: 'Echo: one …', status: 'ok' });
    await fake.waitForAbort(0);
  });

  it('refuses a prompt over MAX_PROMPT_CHARS with 413 and stores nothing', async () => {
    await start({ MAX_PROMPT_CHARS: '10' });
    const res = await t.request('/chat', { body: { prompt: 'x'.repeat(11) } });
    expect(res.status).toBe(413);
    expect(await res.json()).toEqual({
      statusCode: 413,
      error: 'Payload Too Large',
      message: 'prompt is 11 characters; the limit is 10 (MAX_PROMPT_CHARS)',
    });
    expect(fake.chatRequests()).toHaveLength(0);
    expect(await rows()).toHaveLength(0);
  });

  it('masks personal data in what it stores when PII_MASKING is on, not in the answer', async () => {
    await start({ PII_MASKING: 'true' });
    const prompt = 'mail jane.doe@example.com, card 4111 1111 1111 1111';
    const body = await (await t.request('/chat', { body: { prompt } })).json();
    expect(body.response).toBe(`Echo: ${prompt}`);
    const [row] = await rows();
    expect(row.prompt).toBe('mail [EMAIL], card [CARD]');
    expect(row.response).toBe('Echo: mail [EMAIL], card [CARD]');
  });

  it('stores prompts verbatim when PII_MASKING is off', async () => {
    await start();
    await t.request('/chat', { body: { prompt: 'mail jane.doe@example.com' } });
    expect((await rows())[0].prompt).toBe('mail jane.doe@example.com');
  });
});
