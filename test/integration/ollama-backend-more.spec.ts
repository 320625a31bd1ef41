import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cancellation } from '../../src/common/async/cancellation';
import { BackendError, BackendRejectedError, InvalidInputError, UnsupportedFieldError } from '../../src/common/errors/app-errors';
import { loadConfig } from '../../src/config/app-config';
import type { BackendChatRequest, BackendChunk, BackendCompletionRequest } from '../../src/core/llm/llm-backend';
import { LlmEvent, LlmService } from '../../src/core/llm/llm.service';
import { poolFromConfig } from '../../src/core/llm/routing/pool-from-config';
import { ResponseCache } from '../../src/core/llm/resilience/response-cache';
import { OllamaBackend } from '../../src/core/llm/backends/ollama/ollama.backend';
import { FakeOllama, type FakeModelSpec } from '../support/fake-ollama';

/** OllamaBackend against the fake Ollama over HTTP: tool_choice through format, completions, showModel, embed. */

const MODELS: FakeModelSpec[] = [
  'mistral',
  { name: 'qwen3', capabilities: ['completion', 'tools', 'thinking'], contextLength: 40960, numCtx: 8192 },
  { name: 'qwen2.5-coder', capabilities: ['completion', 'insert'] },
  { name: 'nomic-embed-text', capabilities: ['embedding'], embeddingLength: 12 },
];
const WEATHER = { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string', minLength: 1 } }, required: ['city'] } };
const TIME = { name: 'get_time', parameters: { type: 'object', properties: { zone: { enum: ['UTC', 'CET'] } }, required: ['zone'] } };

let fake: FakeOllama;
let backend: OllamaBackend;

beforeAll(async () => {
  fake = new FakeOllama({ models: MODELS });
  await fake.start();
  backend = new OllamaBackend(fake.url);
});

afterAll(async () => {
  await backend.close();
  await fake.stop();
});

afterEach(() => fake.reset());

async function collect(chunks: AsyncIterable<BackendChunk | LlmEvent>): Promise<(BackendChunk | LlmEvent)[]> {
  const all: (BackendChunk | LlmEvent)[] = [];
  for await (const chunk of chunks) all.push(chunk);
  return all;
}

const chat = (extra: Partial<BackendChatRequest>): BackendChatRequest => ({
  model: 'qwen3',
  messages: [{ role: 'user', content: 'What now?' }],
  options: {},
  tools: [WEATHER, TIME],
  think: false,
  ...extra,
});

describe('OllamaBackend tool_choice', () => {
  it('required: constrains the answer with a schema over the tools and hands on the JSON as one tool call, no text', async () => {
    const chunks = await collect(backend.chatStream(chat({ toolChoice: 'required' }), new Cancellation()));
    const sent = fake.chatRequests()[0].body;
    expect(sent.tools.map((tool: any) => tool.function.name)).toEqual(['get_weather', 'get_time']);
    expect(sent.format).toEqual({
      anyOf: [
        { type: 'object', properties: { name: { const: 'get_weather' }, arguments: WEATHER.parameters }, required: ['name', 'arguments'] },
        { type: 'object', properties: { name: { const: 'get_time' }, arguments: TIME.parameters }, required: ['name', 'arguments'] },
      ],
    });
    expect(chunks.filter((chunk) => chunk.type === 'token')).toEqual([]);
    expect(chunks.filter((chunk) => chunk.type === 'tool_call')).toEqual([
      { type: 'tool_call', call: { id: expect.stringMatching(/^call_[a-z0-9]{8}$/), name: 'get_weather', arguments: { city: 'a' } } },
    ]);
    expect(chunks.at(-1)).toMatchObject({ type: 'done', doneReason: 'stop' });
  });

  it('named: allows only that tool', async () => {
    const chunks = await collect(backend.chatStream(chat({ toolChoice: { name: 'get_time' } }), new Cancellation()));
    expect(fake.chatRequests()[0].body.format.anyOf).toHaveLength(1);
    expect(chunks.filter((chunk) => chunk.type === 'tool_call')).toEqual([{ type: 'tool_call', call: expect.objectContaining({ name: 'get_time', arguments: { zone: 'UTC' } }) }]);
  });

  it('refuses required together with a format, a named tool that is not offered, and required without tools, sending nothing', async () => {
    const withFormat = collect(backend.chatStream(chat({ toolChoice: 'required', format: 'json' }), new Cancellation()));
    await expect(withFormat).rejects.toThrow(UnsupportedFieldError);
    await expect(withFormat).rejects.toMatchObject({ status: 400, param: 'tool_choice' });
    await expect(collect(backend.chatStream(chat({ toolChoice: { name: 'nope' } }), new Cancellation()))).rejects.toThrow(InvalidInputError);
    await expect(collect(backend.chatStream(chat({ toolChoice: 'required', tools: [] }), new Cancellation()))).rejects.toMatchObject({ param: 'tool_choice' });
    expect(fake.chatRequests()).toHaveLength(0);
  });

  it('reports a forced answer that is not a call of an allowed tool', async () => {
    fake.enqueue({ kind: 'answer', answer: { content: '{"name":"rm_rf","arguments":{}}' } });
    await expect(collect(backend.chatStream(chat({ toolChoice: 'required' }), new Cancellation()))).rejects.toThrow(BackendError);
  });
});

describe('OllamaBackend.completionStream', () => {
  const completion = (extra: Partial<BackendCompletionRequest>): BackendCompletionRequest => ({ model: 'qwen2.5-coder', prompt: 'def add(a, b):', options: {}, ...extra });

  it('sends prompt, suffix and every field to /api/generate and streams the text back', async () => {
    fake.enqueue({ kind: 'answer', answer: { content: '\n    return a + b' } });
    const chunks = await collect(
      backend.completionStream(completion({ suffix: '\n\nprint(add(1, 2))', options: { temperature: 0 }, keepAlive: 30, logprobs: true, topLogprobs: 1 }), new Cancellation()),
    );
    const generate = fake.requests.find((request) => request.path === '/api/generate')!;
    expect(generate.body).toEqual({
      model: 'qwen2.5-coder',
      prompt: 'def add(a, b):',
      suffix: '\n\nprint(add(1, 2))',
      stream: true,
      options: { temperature: 0 },
      keep_alive: 30,
      logprobs: true,
      top_logprobs: 1,
    });
    expect(chunks.map((chunk) => (chunk.type === 'token' ? chunk.text : '')).join('')).toBe('\n    return a + b');
    expect(chunks.some((chunk) => chunk.type === 'token' && chunk.logprobs?.length)).toBe(true);
    expect(chunks.at(-1)).toMatchObject({ type: 'done', doneReason: 'stop', usage: { promptTokens: 5 } });
  });

  it('passes the 400 for a suffix to a model without insert through', async () => {
    await expect(collect(backend.completionStream(completion({ model: 'mistral', suffix: 'x' }), new Cancellation()))).rejects.toThrow(
      new BackendRejectedError('Ollama rejected the request: registry.ollama.ai/library/mistral:latest does not support insert'),
    );
  });

  it('streams thinking and a format through LlmService.streamCompletion, cached apart from chats', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vega-completion-'));
    const config = loadConfig({ VEGA_DATA_DIR: dir, OLLAMA_URL: fake.url, LOG_LEVEL: 'fatal' });
    const llm = new LlmService(config, poolFromConfig(config), new ResponseCache(config.llm.cache.maxEntries, config.llm.cache.ttlMs));
    try {
      const request: BackendCompletionRequest = { model: 'qwen3', prompt: 'Name a colour', options: {}, format: 'json' };
      const first = await collect(llm.streamCompletion(request, new Cancellation()));
      expect(first.some((event) => event.type === 'thinking')).toBe(true);
      expect(first.filter((event) => event.type === 'token').map((event) => (event as { text: string }).text).join('')).toBe('{}');
      expect(first.at(-1)).toMatchObject({ type: 'done', cached: false });
      const again = await collect(llm.streamCompletion(request, new Cancellation()));
      expect(again.at(-1)).toMatchObject({ type: 'done', cached: true });
      expect(fake.requests.filter((r) => r.path === '/api/generate')).toHaveLength(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('OllamaBackend.showModel', () => {
  it('reads capabilities, the trained context length and the Modelfile num_ctx', async () => {
    expect(await backend.showModel('qwen3')).toEqual({ name: 'qwen3', capabilities: ['completion', 'tools', 'thinking'], contextLength: 40960, numCtx: 8192 });
    expect(await backend.showModel('nomic-embed-text')).toEqual({ name: 'nomic-embed-text', capabilities: ['embedding'], contextLength: 2048 });
  });
});

describe('OllamaBackend.embed', () => {
  it('sends dimensions and truncate, and returns the shortened vectors with the token usage', async () => {
    const result = await backend.embed({ model: 'nomic-embed-text', input: ['alpha beta', 'gamma'], dimensions: 5, truncate: true, keepAlive: '1m' });
    expect(result.embeddings.map((vector) => vector.length)).toEqual([5, 5]);
    for (const vector of result.embeddings) expect(Math.hypot(...vector)).toBeCloseTo(1, 9);
    expect(result.promptTokens).toBe(3);
    expect(fake.requests.at(-1)!.body).toEqual({ model: 'nomic-embed-text', input: ['alpha beta', 'gamma'], dimensions: 5, truncate: true, keep_alive: '1m' });
  });

  it('passes the refusal of a model that cannot embed through', async () => {
    await expect(backend.embed({ model: 'mistral', input: ['x'] })).rejects.toThrow('registry.ollama.ai/library/mistral:latest does not support embedding');
  });
});
