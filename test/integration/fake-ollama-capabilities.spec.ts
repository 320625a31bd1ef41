import { Agent, request, type Dispatcher } from 'undici';
import { FakeOllama, type FakeModelSpec, type FakeOllamaOptions } from '../support/fake-ollama';

/** The fake speaks tools, thinking, format, logprobs, images, /api/show, /api/ps and /api/embed as Ollama v0.33 does. */

const MODELS: FakeModelSpec[] = [
  'mistral',
  { name: 'qwen3', capabilities: ['completion', 'tools', 'thinking', 'vision'], contextLength: 40960, numCtx: 8192 },
  { name: 'qwen2.5-coder', capabilities: ['completion', 'insert'] },
  { name: 'embeddinggemma', capabilities: ['embedding'], contextLength: 2048, embeddingLength: 16 },
];
const WEATHER = { type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } } };
const PNG = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex').toString('base64');

let agent: Agent;
let fake: FakeOllama;

beforeAll(() => {
  agent = new Agent();
});

afterAll(async () => {
  await agent.close();
});

afterEach(async () => {
  await fake?.stop();
});

async function startFake(opts: FakeOllamaOptions = {}): Promise<FakeOllama> {
  fake = new FakeOllama({ models: MODELS, ...opts });
  await fake.start();
  return fake;
}

function post(path: string, body: unknown): Promise<Dispatcher.ResponseData> {
  return request(`${fake.url}${path}`, { method: 'POST', dispatcher: agent, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

async function lines(res: Dispatcher.ResponseData): Promise<any[]> {
  expect(res.statusCode).toBe(200);
  const text = await res.body.text();
  return text.trimEnd().split('\n').map((line) => JSON.parse(line));
}

async function refusal(res: Dispatcher.ResponseData): Promise<[number, string]> {
  return [res.statusCode, ((await res.body.json()) as { error: string }).error];
}

const chat = (model: string, content: string, extra: Record<string, unknown> = {}) => ({ model, messages: [{ role: 'user', content }], ...extra });

describe('FakeOllama /api/chat capabilities', () => {
  it('a thinking model thinks by default, in its own chunks before the content; think:false turns it off', async () => {
    await startFake({ respond: () => ({ thinking: 'Sky scatters blue.', content: 'Rayleigh scattering.' }) });
    const chunks = await lines(await post('/api/chat', chat('qwen3', 'why blue')));
    const thinking = chunks.filter((c) => c.message.thinking);
    expect(thinking.map((c) => c.message.thinking).join('')).toBe('Sky scatters blue.');
    expect(thinking.every((c) => c.message.content === '')).toBe(true);
    const firstContent = chunks.findIndex((c) => c.message.content);
    expect(firstContent).toBeGreaterThan(chunks.indexOf(thinking.at(-1)));
    expect(chunks.map((c) => c.message.content).join('')).toBe('Rayleigh scattering.');

    const off = await lines(await post('/api/chat', chat('qwen3', 'why blue', { think: false })));
    expect(off.some((c) => c.message.thinking)).toBe(false);

    const whole = (await (await post('/api/chat', chat('qwen3', 'why blue', { stream: false, think: 'high' }))).body.json()) as any;
    expect(whole.message).toEqual({ role: 'assistant', content: 'Rayleigh scattering.', thinking: 'Sky scatters blue.' });
  });

  it('refuses think values Ollama refuses, and thinking on a model without it', async () => {
    await startFake();
    expect(await refusal(await post('/api/chat', chat('qwen3', 'x', { think: 'extreme' })))).toEqual([
      400,
      'invalid think value: "extreme" (must be "high", "medium", "low", "max", true, or false)',
    ]);
    expect(await refusal(await post('/api/chat', chat('mistral', 'x', { think: true })))).toEqual([400, '"mistral" does not support thinking']);
    expect((await post('/api/chat', chat('mistral', 'x', { think: false }))).statusCode).toBe(200);
  });

  it('sends tool calls whole in one chunk with call_ ids, only when tools were offered', async () => {
    await startFake({ respond: () => ({ toolCalls: [{ name: 'get_weather', arguments: { city: 'Paris' } }, { name: 'get_weather', arguments: { city: 'Oslo' } }] }) });
    const chunks = await lines(await post('/api/chat', chat('qwen3', 'weather?', { tools: [WEATHER], think: false })));
    const calls = chunks.filter((c) => c.message.tool_calls);
    expect(calls).toHaveLength(1);
    const [first, second] = calls[0].message.tool_calls;
    expect(first).toEqual({ id: expect.stringMatching(/^call_[a-z0-9]{8}$/), function: { index: 0, name: 'get_weather', arguments: { city: 'Paris' } } });
    expect(second.function).toEqual({ index: 1, name: 'get_weather', arguments: { city: 'Oslo' } });
    expect(chunks.at(-1)).toMatchObject({ done: true, done_reason: 'stop' });

    const without = await lines(await post('/api/chat', chat('qwen3', 'weather?', { think: false })));
    expect(without.some((c) => c.message.tool_calls)).toBe(false);
  });

  it('answers a queued answer once, before respond and reply', async () => {
    await startFake({ reply: () => 'from reply' });
    fake.enqueue({ kind: 'answer', answer: { content: 'queued' } });
    const first = await lines(await post('/api/chat', chat('mistral', 'x')));
    const second = await lines(await post('/api/chat', chat('mistral', 'x')));
    expect(first.map((c) => c.message.content).join('')).toBe('queued');
    expect(second.map((c) => c.message.content).join('')).toBe('from reply');
  });

  it('refuses tools and images to models without the capability, with Ollama’s messages', async () => {
    await startFake();
    expect(await refusal(await post('/api/chat', chat('mistral', 'x', { tools: [WEATHER] })))).toEqual([
      400,
      'registry.ollama.ai/library/mistral:latest does not support tools',
    ]);
    const image = { model: 'mistral', messages: [{ role: 'user', content: 'what is it', images: [PNG] }] };
    expect(await refusal(await post('/api/chat', image))).toEqual([400, 'registry.ollama.ai/library/mistral:latest does not support vision']);
    expect(await refusal(await post('/api/chat', chat('embeddinggemma', 'x')))).toEqual([400, '"embeddinggemma" does not support chat']);
    const dataUrl = { model: 'qwen3', messages: [{ role: 'user', content: 'x', images: [`data:image/png;base64,${PNG}`] }] };
    expect(await refusal(await post('/api/chat', dataUrl))).toEqual([400, 'illegal base64 data at input byte 4']);
    expect((await post('/api/chat', { ...image, model: 'qwen3' })).statusCode).toBe(200);
  });

  it('refuses arguments sent as a JSON string, as Go’s decoder does', async () => {
    await startFake();
    const body = {
      model: 'qwen3',
      messages: [{ role: 'assistant', content: '', tool_calls: [{ function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] }],
    };
    const [status, message] = await refusal(await post('/api/chat', body));
    expect(status).toBe(400);
    expect(message).toMatch(/^json: cannot unmarshal string into Go struct field .*arguments/);
  });

  it('answers the smallest valid JSON for a format when nothing is scripted', async () => {
    await startFake();
    const json = await lines(await post('/api/chat', chat('mistral', 'x', { format: 'json' })));
    expect(json.map((c) => c.message.content).join('')).toBe('{}');
    const schema = {
      type: 'object',
      properties: { name: { type: 'string', minLength: 2 }, age: { type: 'integer', minimum: 1 }, tags: { type: 'array', items: { type: 'string' } }, kind: { enum: ['a', 'b'] } },
      required: ['name', 'age', 'kind'],
    };
    const whole = (await (await post('/api/chat', chat('mistral', 'x', { format: schema, stream: false }))).body.json()) as any;
    expect(JSON.parse(whole.message.content)).toEqual({ name: 'aa', age: 1, kind: 'a' });
    expect(await refusal(await post('/api/chat', chat('mistral', 'x', { format: 'xml' })))).toEqual([
      400,
      'invalid format: "xml"; expected "json" or a valid JSON schema',
    ]);
  });

  it('gives logprobs on every content chunk, with top_logprobs alternatives; 21 is refused', async () => {
    await startFake({ reply: () => 'one two three' });
    const chunks = await lines(await post('/api/chat', chat('mistral', 'x', { logprobs: true, top_logprobs: 2 })));
    const content = chunks.filter((c) => !c.done);
    expect(content).toHaveLength(3);
    for (const chunk of content) {
      expect(chunk.logprobs).toHaveLength(1);
      const [entry] = chunk.logprobs;
      expect(entry.token).toBe(chunk.message.content);
      expect(entry.logprob).toBeLessThanOrEqual(0);
      expect(entry.bytes).toEqual([...Buffer.from(entry.token)]);
      expect(entry.top_logprobs.map((t: any) => t.token)[0]).toBe(entry.token);
      expect(entry.top_logprobs).toHaveLength(2);
    }
    expect(await refusal(await post('/api/chat', chat('mistral', 'x', { logprobs: true, top_logprobs: 21 })))).toEqual([400, 'top_logprobs must be between 0 and 20']);
  });

  it('drops the oldest messages silently when the prompt exceeds num_ctx, keeping system and the last one', async () => {
    await startFake();
    const words = (n: number) => Array.from({ length: n }, (_, i) => `w${i}`).join(' ');
    const messages = [
      { role: 'system', content: words(10) },
      { role: 'user', content: words(60) },
      { role: 'assistant', content: words(30) },
      { role: 'user', content: words(20) },
    ];
    const fits = await lines(await post('/api/chat', { model: 'mistral', messages, options: { num_ctx: 200 } }));
    expect(fits.at(-1).prompt_eval_count).toBe(120);
    const cut = await lines(await post('/api/chat', { model: 'mistral', messages, options: { num_ctx: 100 } }));
    expect(cut.at(-1).prompt_eval_count).toBe(60); // the first user turn went; system, assistant and the last stayed
  });
});

describe('FakeOllama /api/generate', () => {
  it('fills in the middle for a model with insert, and refuses suffix without it', async () => {
    await startFake({ respond: (req) => ({ content: `<${String(req.suffix)}>` }) });
    const chunks = await lines(await post('/api/generate', { model: 'qwen2.5-coder', prompt: 'def add(a, b):', suffix: 'return c' }));
    expect(chunks.map((c) => c.response).join('')).toBe('<return c>');
    expect(await refusal(await post('/api/generate', { model: 'mistral', prompt: 'x', suffix: 'y' }))).toEqual([
      400,
      'registry.ollama.ai/library/mistral:latest does not support insert',
    ]);
  });

  it('streams thinking, honours format and gives logprobs', async () => {
    await startFake();
    const thinking = await lines(await post('/api/generate', { model: 'qwen3', prompt: 'hello' }));
    expect(thinking[0]).toMatchObject({ response: '', thinking: expect.any(String), done: false });
    const json = (await (await post('/api/generate', { model: 'mistral', prompt: 'x', format: 'json', stream: false, logprobs: true })).body.json()) as any;
    expect(json.response).toBe('{}');
    expect(json.logprobs).toEqual([expect.objectContaining({ token: '{}' })]);
    expect(await refusal(await post('/api/generate', { model: 'mistral', prompt: 'x', think: true }))).toEqual([400, '"mistral" does not support thinking']);
  });
});

describe('FakeOllama /api/show and /api/ps', () => {
  it('reports capabilities, the trained context length and the Modelfile num_ctx', async () => {
    await startFake();
    const show = (await (await post('/api/show', { model: 'qwen3' })).body.json()) as any;
    expect(show.capabilities).toEqual(['completion', 'tools', 'thinking', 'vision']);
    expect(show.model_info['llama.context_length']).toBe(40960);
    expect(show.parameters).toMatch(/^num_ctx\s+8192$/m);
    const embedder = (await (await post('/api/show', { model: 'embeddinggemma' })).body.json()) as any;
    expect(embedder.capabilities).toEqual(['embedding']);
    expect(embedder.model_info).toMatchObject({ 'general.architecture': 'bert', 'bert.context_length': 2048, 'bert.embedding_length': 16 });
  });

  it('lists the models a request loaded with their context; keep_alive 0 unloads', async () => {
    await startFake();
    await lines(await post('/api/chat', chat('qwen3', 'x', { think: false })));
    await lines(await post('/api/chat', chat('mistral', 'x', { options: { num_ctx: 2048 }, keep_alive: -1 })));
    const ps = (await (await request(`${fake.url}/api/ps`, { dispatcher: agent })).body.json()) as any;
    expect(ps.models.map((m: any) => [m.name, m.context_length])).toEqual([
      ['mistral:latest', 2048],
      ['qwen3:latest', 8192],
    ]);
    await lines(await post('/api/chat', chat('qwen3', 'x', { think: false, keep_alive: 0 })));
    const after = (await (await request(`${fake.url}/api/ps`, { dispatcher: agent })).body.json()) as any;
    expect(after.models.map((m: any) => m.name)).toEqual(['mistral:latest']);
  });
});

describe('FakeOllama /api/embed', () => {
  it('embeds with the model’s length, truncates to dimensions and renormalises, and counts tokens', async () => {
    await startFake();
    const full = (await (await post('/api/embed', { model: 'embeddinggemma', input: ['alpha beta', 'gamma'] })).body.json()) as any;
    expect(full.embeddings.map((v: number[]) => v.length)).toEqual([16, 16]);
    expect(full.prompt_eval_count).toBe(3);
    const short = (await (await post('/api/embed', { model: 'embeddinggemma', input: 'alpha beta', dimensions: 4 })).body.json()) as any;
    expect(short.embeddings[0]).toHaveLength(4);
    expect(Math.hypot(...short.embeddings[0])).toBeCloseTo(1, 9);
    const head = full.embeddings[0].slice(0, 4);
    const norm = Math.hypot(...head);
    short.embeddings[0].forEach((x: number, i: number) => expect(x).toBeCloseTo(head[i] / norm, 9));
  });

  it('answers "" with no embeddings, refuses token arrays, and models that cannot embed', async () => {
    await startFake();
    expect(await (await post('/api/embed', { model: 'embeddinggemma', input: '' })).body.json()).toEqual({ model: 'embeddinggemma', embeddings: [] });
    expect(await refusal(await post('/api/embed', { model: 'embeddinggemma', input: [[1, 2, 3]] }))).toEqual([400, 'invalid input type']);
    expect(await refusal(await post('/api/embed', { model: 'mistral', input: 'x' }))).toEqual([400, 'registry.ollama.ai/library/mistral:latest does not support embedding']);
    const long = Array.from({ length: 3000 }, () => 'w').join(' ');
    expect(await refusal(await post('/api/embed', { model: 'embeddinggemma', input: long, truncate: false }))).toEqual([400, 'the input length exceeds the context length']);
    const cut = (await (await post('/api/embed', { model: 'embeddinggemma', input: long })).body.json()) as any;
    expect(cut.prompt_eval_count).toBe(2048);
  });
});
