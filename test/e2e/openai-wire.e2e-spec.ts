import { ShutdownSignal } from '../../src/common/lifecycle/shutdown-signal';
import { Metrics } from '../support/prometheus';
import { openAiChatBodyLimit } from '../../src/modules/openai/openai-body-limit';
import { openSse } from '../support/sse-client';
import { queryDb } from '../support/sqlite';
import { TEST_API_KEY, TestApp, useAppWithFakeOllama } from '../support/test-app';

const auth = { authorization: `Bearer ${TEST_API_KEY}` };
const ask = (content: string, extra: Record<string, unknown> = {}) => ({
  model: 'mistral',
  messages: [{ role: 'user', content }],
  ...extra,
});

/** The `data:` payloads of a raw OpenAI stream, in order. */
function dataFrames(raw: string): string[] {
  return raw
    .split('\n\n')
    .filter((block) => block.startsWith('data: '))
    .map((block) => block.slice('data: '.length));
}

describe('OpenAI wire format over raw HTTP', () => {
  const env = useAppWithFakeOllama(['mistral']);
  const fake = env.fake;
  let t: TestApp;

  const start = async (vars: Record<string, string> = {}) => {
    t = await env.start(vars);
  };
  const rows = () => queryDb<{ prompt: string; response: string; status: string; source: string }>(t.dbPath, 'SELECT * FROM conversations ORDER BY id');

  describe('POST /v1/chat/completions, stream: true', () => {
    it('sends unnamed data frames with chat.completion.chunk JSON, then data: [DONE]', async () => {
      await start();
      fake.enqueue({ kind: 'reply', text: 'Hi\nthere "you"', promptEvalCount: 9, evalCount: 4 });
      const sse = await openSse(`${t.url}/v1/chat/completions`, {
        headers: auth,
        body: ask('x', { stream: true, stream_options: { include_usage: true } }),
      });
      expect(sse.status).toBe(200);
      expect(sse.headers['content-type']).toBe('text/event-stream; charset=utf-8');
      expect(sse.headers['cache-control']).toBe('no-cache');
      expect(sse.headers['x-accel-buffering']).toBe('no');
      expect(sse.headers['x-request-id']).toEqual(expect.any(String));
      const events = await sse.all();
      const raw = sse.raw();
      expect(raw.startsWith(': ok\n\n')).toBe(true);
      expect(raw).not.toMatch(/^event:/m);
      expect(raw.endsWith('data: [DONE]\n\n')).toBe(true);
      expect(events.every((event) => event.event === 'message')).toBe(true);

      const frames = dataFrames(raw);
      expect(frames.at(-1)).toBe('[DONE]');
      const chunks = frames.slice(0, -1).map((frame) => JSON.parse(frame));
      const { id, created } = chunks[0];
      const head = { id, object: 'chat.completion.chunk', created, model: 'mistral' };
      // Role first; then the content, one chunk per network read from the backend (the fake
      // sends this reply in one write, Ollama sends each token as it is made); then the finish.
      const content = chunks.slice(1, -2);
      expect(chunks[0]).toEqual({ ...head, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }], usage: null });
      expect(content.length).toBeGreaterThanOrEqual(1);
      for (const chunk of content) {
        expect(chunk).toEqual({ ...head, choices: [{ index: 0, delta: { content: expect.any(String) }, logprobs: null, finish_reason: null }], usage: null });
      }
      expect(content.map((chunk) => chunk.choices[0].delta.content).join('')).toBe('Hi\nthere "you"');
      expect(chunks.slice(-2)).toEqual([
        { ...head, choices: [{ index: 0, delta: {}, logprobs: null, finish_reason: 'stop' }], usage: null },
        { ...head, choices: [], usage: { prompt_tokens: 9, completion_tokens: 4, total_tokens: 13, completion_tokens_details: { reasoning_tokens: 0 } } },
      ]);
      expect(await rows()).toEqual([expect.objectContaining({ prompt: 'x', response: 'Hi\nthere "you"', status: 'ok', source: 'openai' })]);
    });

    it('ends with an error frame and no [DONE] when the backend fails mid-stream', async () => {
      await start({ LLM_IDLE_TIMEOUT_SEC: '0.2' });
      fake.enqueue({ kind: 'stall_after', afterChunks: 2 });
      const sse = await openSse(`${t.url}/v1/chat/completions`, { headers: auth, body: ask('a b c d', { stream: true }) });
      expect(sse.status).toBe(200);
      await sse.all();
      const frames = dataFrames(sse.raw());
      expect(frames).not.toContain('[DONE]');
      expect(JSON.parse(frames.at(-1)!)).toEqual({
        error: { message: 'The model stalled: no data for 0.2 s', type: 'server_error', param: null, code: 'backend_timeout' },
      });
      expect(frames.slice(1, -1).map((frame) => JSON.parse(frame).choices[0].delta.content).join('')).toBe('Echo: a');
      expect(await rows()).toEqual([expect.objectContaining({ status: 'error', response: 'Echo: a' })]);
    });

    it('answers a failure before the first token with its HTTP status, not a stream', async () => {
      await start({ LLM_FIRST_TOKEN_TIMEOUT_SEC: '0.2' });
      fake.enqueue({ kind: 'hang' });
      const res = await t.request('/v1/chat/completions', { body: ask('x', { stream: true }) });
      expect(res.status).toBe(504);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      expect(await res.json()).toEqual({
        error: { message: 'The model sent no token within 0.2 s', type: 'server_error', param: null, code: 'backend_timeout' },
      });
      await fake.waitForAbort(0, 2000);
    });

    it('cancels the upstream request when the socket closes mid-stream, and stores the exchange as aborted', async () => {
      await start();
      fake.enqueue({ kind: 'slow', delayMs: 150 });
      const sse = await openSse(`${t.url}/v1/chat/completions`, { headers: auth, body: ask('one two three four five six', { stream: true }) });
      let seen = 0;
      for await (const event of sse.events) {
        expect(event.event).toBe('message');
        if (++seen === 2) break;
      }
      const closedAt = Date.now();
      sse.close();
      await fake.waitForAbort(0, 2000);
      expect(Date.now() - closedAt).toBeLessThan(300);
      const deadline = Date.now() + 2000;
      while ((await rows()).length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      expect((await rows())[0]).toMatchObject({ status: 'aborted', source: 'openai' });
    });

    it('ends an open stream with a 503 error frame when the server shuts down, and stores it as aborted', async () => {
      await start();
      fake.enqueue({ kind: 'slow', delayMs: 150 });
      const sse = await openSse(`${t.url}/v1/chat/completions`, { headers: auth, body: ask('one two three four five six', { stream: true }) });
      let seen = 0;
      for await (const event of sse.events) {
        expect(event.event).toBe('message');
        if (++seen === 2) break;
      }
      t.app.get(ShutdownSignal).begin();
      await sse.all();
      const frames = dataFrames(sse.raw());
      expect(JSON.parse(frames.at(-1)!)).toEqual({
        error: { message: 'Vega is shutting down', type: 'server_error', param: null, code: 'backend_unavailable' },
      });
      await fake.waitForAbort(0, 2000);
      expect((await rows())[0]).toMatchObject({ status: 'aborted', source: 'openai' });
    });
  });

  describe('POST /v1/chat/completions, stream absent', () => {
    it('answers application/json in the chat.completion shape', async () => {
      await start();
      const res = await t.request('/v1/chat/completions', { body: ask('hi') });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      const body = await res.json();
      expect(Object.keys(body)).toEqual(['id', 'object', 'created', 'model', 'choices', 'usage']);
      expect(body.object).toBe('chat.completion');
    });

    it('masks personal data in what it stores when PII_MASKING is on, not in the answer', async () => {
      await start({ PII_MASKING: 'true' });
      const res = await t.request('/v1/chat/completions', { body: ask('mail jane.doe@example.com') });
      expect((await res.json()).choices[0].message.content).toBe('Echo: mail jane.doe@example.com');
      expect(await rows()).toEqual([expect.objectContaining({ prompt: 'mail [EMAIL]', response: 'Echo: mail [EMAIL]' })]);
    });

    it('is counted in the HTTP and LLM metrics like /chat', async () => {
      await start();
      await t.request('/v1/chat/completions', { body: ask('hi') });
      const metrics = new Metrics(await (await t.request('/metrics', { key: null })).text());
      expect(metrics.value('vega_http_requests_total', { method: 'POST', route: '/v1/chat/completions', status: '200' })).toBe(1);
      expect(metrics.value('vega_llm_requests_total', { model: 'mistral', outcome: 'ok' })).toBe(1);
    });
  });

  describe('errors under /v1/ use OpenAI’s shape; other routes keep Vega’s', () => {
    it('401 without a key', async () => {
      await start();
      const res = await t.request('/v1/chat/completions', { body: ask('x'), key: null });
      expect(res.status).toBe(401);
      expect(await res.json()).toEqual({
        error: {
          message: 'Missing API key: send it in the X-API-Key header or as Authorization: Bearer <key>',
          type: 'invalid_request_error',
          param: null,
          code: 'invalid_api_key',
        },
      });
      const models = await t.request('/v1/models', { key: null });
      expect(models.status).toBe(401);
      expect((await models.json()).error.code).toBe('invalid_api_key');
      const chat = await t.request('/chat', { body: { prompt: 'x' }, key: null });
      expect(await chat.json()).toEqual(expect.objectContaining({ statusCode: 401, error: 'Unauthorized' }));
    });

    it('400 for a malformed JSON body and for a body of the wrong type', async () => {
      await start();
      const malformed = await t.request('/v1/chat/completions', { body: '{"model": ' });
      expect(malformed.status).toBe(400);
      expect((await malformed.json()).error).toEqual(expect.objectContaining({ type: 'invalid_request_error', param: null }));
      const wrongType = await t.request('/v1/chat/completions', { body: ask('x', { temperature: '0.5', stream: 'yes' }) });
      expect(wrongType.status).toBe(400);
      const { error } = await wrongType.json();
      expect(error.param).toBe('stream');
      expect(error.message).toContain('temperature must be a number');
      expect(error.message).toContain('stream must be a boolean value');
    });

    it('takes a long conversation (past the global body limit) and refuses one over its own limit (4 MiB and room for two images)', async () => {
      // ~27k tokens by the context guard's estimate: a context that holds them, or the guard refuses first.
      await start({ IMAGE_MAX_BYTES: String(1024 * 1024), CONTEXT_DEFAULT_NUM_CTX: '32768' });
      const limit = openAiChatBodyLimit(1024 * 1024);
      expect(limit).toBe(4 * 1024 * 1024 + 2 * 1_398_104);
      // 80 KB of history: more than the 64 KiB every other route takes.
      const history = Array.from({ length: 40 }, (_, i) => ({ role: i % 2 ? 'assistant' : 'user', content: 'x'.repeat(2000) }));
      const long = await t.request('/v1/chat/completions', { body: { model: 'mistral', messages: [...history, { role: 'user', content: 'and?' }] } });
      expect(long.status).toBe(200);
      expect(fake.chatRequests()[0].body.messages).toHaveLength(41);

      const huge = Array.from({ length: 500 }, (_, i) => ({ role: i % 2 ? 'assistant' : 'user', content: 'x'.repeat(15_000) }));
      const res = await t.request('/v1/chat/completions', { body: { model: 'mistral', messages: [...huge, { role: 'user', content: 'and?' }] } });
      expect(res.status).toBe(413);
      expect(await res.json()).toEqual({
        error: { message: `Request body is larger than ${limit} bytes`, type: 'invalid_request_error', param: 'messages', code: 'context_length_exceeded' },
      });
      expect(fake.chatRequests()).toHaveLength(1);
    });

    it('keeps the global body limit on the routes that take no images', async () => {
      await start();
      const res = await t.request('/feedback', { body: { conversation_id: 1, notes: 'x'.repeat(100_000) } });
      expect(res.status).toBe(413);
      expect(JSON.stringify(await res.json())).toContain('Request body is larger than 64 KiB (65536 bytes)');
    });

    it('404 for an unknown route under /v1/', async () => {
      await start();
      const res = await t.request('/v1/audio/speech', { body: { model: 'mistral', input: 'x' } });
      expect(res.status).toBe(404);
      expect((await res.json()).error).toEqual({ message: 'Cannot POST /v1/audio/speech', type: 'invalid_request_error', param: null, code: null });
    });

    it('400 for a model id that is not a model name', async () => {
      await start();
      const res = await t.request('/v1/models/..%2F..');
      expect(res.status).toBe(400);
      expect((await res.json()).error).toEqual(expect.objectContaining({ param: 'id', message: 'id is not a valid model name' }));
    });
  });

  it('documents the routes, request, response and errors in /docs-json', async () => {
    await start();
    const document = await (await t.request('/docs-json', { key: null })).json();
    const create = document.paths['/v1/chat/completions'].post;
    expect(create.requestBody.content['application/json'].schema.$ref).toBe('#/components/schemas/ChatCompletionRequestDto');
    expect(Object.keys(create.responses['200'].content)).toEqual(['application/json', 'text/event-stream']);
    expect(create.responses['401'].content['application/json'].schema.$ref).toBe('#/components/schemas/OpenAiErrorResponseDto');
    expect(Object.keys(create.responses).sort()).toEqual(['200', '400', '401', '403', '404', '413', '429', '502', '503', '504']);
    expect(create.responses['403'].content['application/json'].schema.$ref).toBe('#/components/schemas/OpenAiErrorResponseDto');
    expect(document.paths['/v1/models'].get.responses['200'].content['application/json'].schema.$ref).toBe('#/components/schemas/OpenAiModelListDto');
    expect(document.paths['/v1/models/{id}'].get.responses['404']).toBeDefined();
    for (const schema of [
      'ChatCompletionRequestDto', 'ChatCompletionMessageDto', 'ChatCompletionResponseDto', 'ChatCompletionChunkDto', 'TextContentPartDto',
      'ImageContentPartDto', 'ImageUrlDto', 'ToolCallDto', 'ToolCallFunctionDto', 'ChatCompletionToolDto', 'FunctionDefinitionDto',
      'ResponseFormatDto', 'JsonSchemaFormatDto', 'AssistantMessageDto', 'ToolCallOutDto', 'ChoiceLogprobsDto', 'TokenLogprobDto',
      'ChunkDeltaDto', 'ToolCallDeltaDto', 'ToolCallFunctionDeltaDto', 'CompletionUsageDto', 'CompletionTokensDetailsDto',
    ]) {
      const properties = document.components.schemas[schema].properties as Record<string, { description?: string; $ref?: string; allOf?: unknown }>;
      for (const [name, property] of Object.entries(properties)) {
        expect({ schema, name, documented: Boolean(property.description || property.$ref || property.allOf) }).toEqual({ schema, name, documented: true });
      }
    }
  });
});
