import { Ollama } from 'ollama';
import { Agent, fetch as undiciFetch } from 'undici';
import { PNG } from '../support/images';
import { queryDb } from '../support/sqlite';
import { TEST_API_KEY, TestApp, useAppWithFakeOllama } from '../support/test-app';

interface Row {
  prompt: string;
  response: string;
  source: string;
  kind: string;
  status: string;
  model: string | null;
  request: string | null;
  answer: string | null;
}

/**
 * The official `ollama` client, unmodified, pointed at Vega with the key in its headers option.
 * Its connections go through an agent of the test's own, closed after the test (after an abort
 * undici keeps a spare connection that would hold the app's close up).
 */
function client(t: TestApp, agents: Agent[], key = TEST_API_KEY): Ollama {
  const agent = new Agent();
  agents.push(agent);
  const fetch = ((input: string, init: RequestInit) => undiciFetch(input, { ...(init as object), dispatcher: agent })) as unknown as typeof globalThis.fetch;
  return new Ollama({ host: t.url, headers: { Authorization: `Bearer ${key}` }, fetch });
}

async function waitFor(check: () => Promise<boolean>, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function failure(call: () => Promise<unknown>): Promise<Error & { status_code: number; error: string }> {
  try {
    await call();
  } catch (error) {
    return error as Error & { status_code: number; error: string };
  }
  throw new Error('expected the call to fail');
}

describe('the ollama npm client against /api/chat and /api/generate', () => {
  const env = useAppWithFakeOllama([
    'mistral',
    { name: 'qwen3', capabilities: ['completion', 'tools', 'thinking', 'insert'] },
    { name: 'llava', capabilities: ['completion', 'vision'] },
  ]);
  const fake = env.fake;
  const agents: Agent[] = [];
  let t: TestApp;
  let ollama: Ollama;
  const rows = () => queryDb<Row>(t.dbPath, 'SELECT prompt, response, source, kind, status, model, request, answer FROM conversations ORDER BY id');

  const start = async (envVars: Record<string, string> = {}) => {
    t = await env.start(envVars);
    ollama = client(t, agents);
  };

  afterEach(async () => {
    await Promise.all(agents.splice(0).map((agent) => agent.close()));
  });

  it('chat without stream: the whole answer with Ollama metrics; stored with source ollama, kind chat', async () => {
    await start();
    const answer = await ollama.chat({ model: 'mistral', messages: [{ role: 'user', content: 'hello there' }] });
    expect(answer).toMatchObject({ model: 'mistral', message: { role: 'assistant', content: 'Echo: hello there' }, done: true, done_reason: 'stop' });
    // RFC 3339 (the client's types say Date; it hands on the JSON string as Ollama sends it).
    expect(String(answer.created_at)).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/);
    expect(answer.eval_count).toBeGreaterThan(0);
    expect(answer.total_duration).toBeGreaterThan(0);
    expect(answer.prompt_eval_count).toBeGreaterThan(0);
    await waitFor(async () => (await rows()).length === 1);
    expect(await rows()).toEqual([expect.objectContaining({ prompt: 'hello there', response: 'Echo: hello there', source: 'ollama', kind: 'chat', status: 'ok', model: 'mistral' })]);
    // The client's key went in Authorization; it never reaches Ollama.
    expect(fake.chatRequests()[0].headers.authorization).toBeUndefined();
    // In the history and its search, as an Ollama client's exchange.
    const found = await (await t.request('/history?source=ollama&q=hello')).json();
    expect(found.items).toEqual([expect.objectContaining({ prompt: 'hello there', source: 'ollama' })]);
  });

  it("curl as Ollama's documentation writes it (`-d` sends a form content type): the body is read as JSON", async () => {
    await start();
    // What `curl http://host/api/chat -H 'Authorization: Bearer …' -d '{…}'` sends.
    const res = await fetch(`${t.url}/api/chat`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TEST_API_KEY}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: JSON.stringify({ model: 'mistral', messages: [{ role: 'user', content: 'from curl' }], stream: false }),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ message: { content: 'Echo: from curl' }, done: true });
    // Vega's own routes still take JSON only.
    const own = await t.request('/chat', { body: '{"prompt":"x"}', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(own.status).toBe(415);
  });

  it('chat with stream: pieces as they come, then a done line with the backend timings', async () => {
    await start();
    const stream = await ollama.chat({ model: 'mistral', messages: [{ role: 'user', content: 'one two three' }], stream: true });
    const parts = [];
    for await (const part of stream) parts.push(part);
    expect(parts.map((part) => part.message.content).join('')).toBe('Echo: one two three');
    expect(parts.slice(0, -1).every((part) => part.done === false)).toBe(true);
    const last = parts.at(-1)!;
    expect(last).toMatchObject({ done: true, done_reason: 'stop', message: { role: 'assistant', content: '' } });
    expect(last.load_duration).toBe(2_500_000); // the fake's own figure, passed through
    expect(last.eval_duration).toBeGreaterThan(0);
  });

  it('tools round trip: the call comes back with object arguments, the result goes in with tool_name', async () => {
    await start();
    const tools = [
      {
        type: 'function',
        function: { name: 'get_weather', description: 'Weather of a city', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } },
      },
    ];
    fake.enqueue({ kind: 'answer', answer: { toolCalls: [{ name: 'get_weather', arguments: { city: 'Paris' } }] } });
    const first = await ollama.chat({ model: 'qwen3', think: false, messages: [{ role: 'user', content: 'weather in Paris?' }], tools });
    expect(first.message.tool_calls).toEqual([{ id: expect.stringMatching(/^call_[a-z0-9]{8}$/), function: { index: 0, name: 'get_weather', arguments: { city: 'Paris' } } }]);
    expect(first.done_reason).toBe('stop');

    const streamed = await ollama.chat({
      model: 'qwen3',
      think: false,
      stream: true,
      tools,
      messages: [
        { role: 'user', content: 'weather in Paris?' },
        first.message,
        { role: 'tool', content: '18 degrees', tool_name: 'get_weather' },
      ],
    });
    let text = '';
    for await (const part of streamed) text += part.message.content;
    expect(text).toBe('Echo: weather in Paris?');
    const sent = fake.chatRequests()[1].body;
    expect(sent.messages[1].tool_calls).toEqual([{ id: (first.message.tool_calls![0] as { id?: string }).id, function: { index: 0, name: 'get_weather', arguments: { city: 'Paris' } } }]);
    expect(sent.messages[2]).toEqual({ role: 'tool', content: '18 degrees', tool_name: 'get_weather' });
    expect(sent.tools).toEqual(tools);
  });

  it('images: bare base64 goes to the model; a bad one is a 400 ResponseError', async () => {
    await start();
    const answer = await ollama.chat({ model: 'llava', messages: [{ role: 'user', content: 'what is this?', images: [PNG.toString('base64')] }] });
    expect(answer.message.content).toBe('Echo: what is this?');
    expect(fake.chatRequests()[0].body.messages.at(-1).images).toEqual([PNG.toString('base64')]);
    // The client encodes a Uint8Array itself.
    await ollama.chat({ model: 'llava', messages: [{ role: 'user', content: 'and this?', images: [new Uint8Array(PNG)] }] });
    expect(fake.chatRequests()[1].body.messages.at(-1).images).toEqual([PNG.toString('base64')]);
    const bad = await failure(() => ollama.chat({ model: 'llava', messages: [{ role: 'user', content: 'x', images: ['data:image/png;base64,AAAA'] }] }));
    expect(bad.name).toBe('ResponseError');
    expect(bad.status_code).toBe(400);
    expect(bad.error).toBe('illegal base64 data at input byte 4');
    // A generate's images are stored as references, like a chat's.
    await ollama.generate({ model: 'llava', prompt: 'describe', images: [PNG.toString('base64')] });
    expect(fake.requests.at(-1)!.body.images).toEqual([PNG.toString('base64')]);
    await waitFor(async () => (await rows()).length === 3);
    const generated = JSON.parse((await rows())[2].request!);
    expect(generated.images).toEqual([{ mime: 'image/png', bytes: PNG.length, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) }]);
  });

  it('format with a JSON schema constrains the answer', async () => {
    await start();
    const format = { type: 'object', properties: { age: { type: 'integer' } }, required: ['age'] };
    const answer = await ollama.chat({ model: 'mistral', messages: [{ role: 'user', content: 'age?' }], format });
    expect(JSON.parse(answer.message.content)).toEqual({ age: 0 });
    expect(fake.chatRequests()[0].body.format).toEqual(format);
  });

  it('think: the reasoning comes back as message.thinking, streamed and whole', async () => {
    await start();
    fake.enqueue({ kind: 'answer', answer: { thinking: 'Let me see.', content: 'Blue.' } });
    const whole = await ollama.chat({ model: 'qwen3', think: true, messages: [{ role: 'user', content: 'sky?' }] });
    expect(whole.message).toMatchObject({ content: 'Blue.', thinking: 'Let me see.' });
    fake.enqueue({ kind: 'answer', answer: { thinking: 'Hmm.', content: 'Green.' } });
    const stream = await ollama.chat({ model: 'qwen3', think: 'high', stream: true, messages: [{ role: 'user', content: 'grass?' }] });
    let thinking = '';
    let content = '';
    for await (const part of stream) {
      thinking += part.message.thinking ?? '';
      content += part.message.content;
    }
    expect({ thinking, content }).toEqual({ thinking: 'Hmm.', content: 'Green.' });
    expect(fake.chatRequests()[1].body.think).toBe('high');
    const refused = await failure(() => ollama.chat({ model: 'mistral', think: true, messages: [{ role: 'user', content: 'x' }] }));
    expect(refused.status_code).toBe(400);
    expect(refused.error).toContain('"mistral" does not support thinking');
  });

  it('generate with system, with suffix and raw; stored as kind completion', async () => {
    await start();
    const answer = await ollama.generate({ model: 'mistral', prompt: 'Tell me', system: 'Be brief.' });
    expect(answer).toMatchObject({ model: 'mistral', response: 'Echo: Tell me', done: true, done_reason: 'stop' });
    expect(fake.requests.at(-1)!.body).toMatchObject({ prompt: 'Tell me', system: 'Be brief.' });
    const fim = await ollama.generate({ model: 'qwen3', prompt: 'def add(a, b):', suffix: '    return c', think: false });
    expect(fim.response).toBe('Echo: def add(a, b):');
    expect(fake.requests.at(-1)!.body).toMatchObject({ suffix: '    return c' });
    const stream = await ollama.generate({ model: 'mistral', prompt: '[INST] hi [/INST]', raw: true, stream: true });
    let text = '';
    for await (const part of stream) text += part.response;
    expect(text).toBe('Echo: [INST] hi [/INST]');
    expect(fake.requests.at(-1)!.body).toMatchObject({ raw: true });
    const refused = await failure(() => ollama.generate({ model: 'mistral', prompt: 'x', raw: true, system: 'no' }));
    expect(refused).toMatchObject({ status_code: 400, error: 'raw mode does not support template, system, or context' });
    await waitFor(async () => (await rows()).length === 3);
    const stored = await rows();
    expect(stored.map((row) => [row.kind, row.source, row.status, row.prompt])).toEqual([
      ['completion', 'ollama', 'ok', 'Tell me'],
      ['completion', 'ollama', 'ok', 'def add(a, b):'],
      ['completion', 'ollama', 'ok', '[INST] hi [/INST]'],
    ]);
    // The whole request is kept: the generate's own system prompt, its suffix, raw.
    expect(JSON.parse(stored[0].request!)).toMatchObject({ prompt: 'Tell me', system: 'Be brief.' });
    expect(JSON.parse(stored[1].request!)).toMatchObject({ suffix: '    return c', think: false });
    expect(JSON.parse(stored[2].request!)).toMatchObject({ raw: true });
  });

  it('generate returns the context (not in raw mode); sent back, it goes to the model', async () => {
    await start();
    const first = await ollama.generate({ model: 'mistral', prompt: 'remember blue' });
    expect(first.context).toEqual(expect.arrayContaining([expect.any(Number)]));
    const stream = await ollama.generate({ model: 'mistral', prompt: 'which colour?', context: first.context, stream: true });
    const parts = [];
    for await (const part of stream) parts.push(part);
    expect(fake.requests.at(-1)!.body.context).toEqual(first.context);
    expect(parts.at(-1)!.context!.slice(0, first.context.length)).toEqual(first.context);
    const raw = await ollama.generate({ model: 'mistral', prompt: 'x', raw: true });
    expect(raw.context).toBeUndefined();
    // What the stored exchange keeps of a context: how many token ids it continued from, not the ids.
    await waitFor(async () => (await rows()).length === 3);
    const [, second] = await rows();
    const id = (await queryDb<{ id: number }>(t.dbPath, 'SELECT id FROM conversations ORDER BY id'))[1].id;
    const exchange = await (await t.request(`/conversations/${id}`)).json();
    expect(exchange.request).toMatchObject({ prompt: 'which colour?', context_tokens: first.context.length });
    expect(JSON.parse(second.request!).context).toBeUndefined();
  });

  it('an empty chat or prompt loads the model (done_reason load) and stores nothing', async () => {
    await start();
    const chat = await ollama.chat({ model: 'mistral', messages: [] });
    expect(chat).toMatchObject({ done: true, done_reason: 'load', message: { role: 'assistant', content: '' } });
    const generate = await ollama.generate({ model: 'mistral', prompt: '', keep_alive: '10m' });
    expect(generate).toMatchObject({ done: true, done_reason: 'load', response: '' });
    expect(fake.requests.at(-1)!.body.keep_alive).toBe('10m');
    expect(await rows()).toEqual([]);
  });

  it('abort() of a streaming chat cancels upstream at once and stores the partial answer as aborted', async () => {
    await start();
    fake.enqueue({ kind: 'slow', delayMs: 150 });
    const stream = await ollama.chat({ model: 'mistral', stream: true, messages: [{ role: 'user', content: 'one two three four five six seven eight' }] });
    let received = '';
    let count = 0;
    try {
      for await (const part of stream) {
        received += part.message.content;
        if (++count === 2) stream.abort();
      }
    } catch (error) {
      expect((error as Error).name).toBe('AbortError');
    }
    await fake.waitForAbort(0, 3000);
    await waitFor(async () => (await rows()).length === 1);
    const [row] = await rows();
    expect(row).toMatchObject({ status: 'aborted', source: 'ollama' });
    expect(row.response.startsWith(received)).toBe(true);
  });

  it('a missing or wrong key is a 401 {"error"} the client raises as ResponseError', async () => {
    await start();
    const wrong = await failure(() => client(t, agents, 'wrong-key-0123456789').chat({ model: 'mistral', messages: [{ role: 'user', content: 'x' }] }));
    expect(wrong).toMatchObject({ name: 'ResponseError', status_code: 401, error: 'Invalid API key' });
    const missing = await fetch(`${t.url}/api/generate`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"model":"mistral","prompt":"x"}' });
    expect(missing.status).toBe(401);
    expect(await missing.json()).toEqual({ error: 'Missing API key: send it in the X-API-Key header or as Authorization: Bearer <key>' });
    expect(fake.chatRequests()).toHaveLength(0);
  });

  it('an unknown model is a 404 in the words of Ollama itself, as one Ollama server would say it', async () => {
    await start();
    const missing = await failure(() => ollama.chat({ model: 'nope', messages: [{ role: 'user', content: 'x' }] }));
    expect(missing).toMatchObject({ status_code: 404, error: 'model "nope" not found, try pulling it first' });
  });
});
