import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import OpenAI, { APIError, type ClientOptions } from 'openai';
import { Agent, fetch as undiciFetch } from 'undici';
import type { ChatCompletionChunk } from 'openai/resources/chat/completions';
import { queryDb } from '../support/sqlite';
import { tempDir, TEST_API_KEY, TestApp, useAppWithFakeOllama } from '../support/test-app';
import { freePort } from '../support/vega-process';
import { failureOf } from '../support/failure';

interface Row {
  prompt: string;
  response: string;
  source: string;
  session_id: string | null;
  model: string | null;
  status: string;
  prompt_tokens: number | null;
  completion_tokens: number | null;
}

/**
 * The official SDK, unmodified, pointed at Vega. No retries: each test sees the first answer.
 * Its connections go through an agent of the test's own, closed after the test: after an abort,
 * undici opens a spare connection that would otherwise hold the app's close up for its
 * 4-second keep-alive.
 */
function sdk(t: TestApp, agents: Agent[], apiKey = TEST_API_KEY): OpenAI {
  const agent = new Agent();
  agents.push(agent);
  return new OpenAI({
    baseURL: `${t.url}/v1`,
    apiKey,
    maxRetries: 0,
    timeout: 10_000,
    fetch: undiciFetch as unknown as typeof fetch,
    fetchOptions: { dispatcher: agent } as unknown as ClientOptions['fetchOptions'],
  });
}

/** The error a call raised; fails the test when it succeeded. */
const failure = (call: () => Promise<unknown>): Promise<APIError> => failureOf(call, APIError);

async function waitFor(check: () => Promise<boolean>, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('OpenAI SDK against /v1', () => {
  const agents: Agent[] = [];
  afterEach(async () => {
    await Promise.all(agents.splice(0).map((agent) => agent.destroy()));
  });
  const env = useAppWithFakeOllama(['mistral', 'llama3']);
  const fake = env.fake;
  let t: TestApp;
  let client: OpenAI;

  const start = async (vars: Record<string, string> = {}) => {
    t = await env.start(vars);
    client = sdk(t, agents);
  };
  const rows = () => queryDb<Row>(t.dbPath, 'SELECT * FROM conversations ORDER BY id');

  describe('chat.completions.create', () => {
    it('answers a request and stores the exchange like /chat, with source openai', async () => {
      await start();
      const before = Math.floor(Date.now() / 1000);
      const completion = await client.chat.completions.create({ model: 'mistral', messages: [{ role: 'user', content: 'hello there' }] });
      expect(completion).toEqual({
        id: expect.stringMatching(/^chatcmpl-[0-9a-f]{24}$/),
        object: 'chat.completion',
        created: expect.any(Number),
        model: 'mistral',
        choices: [{ index: 0, message: { role: 'assistant', content: 'Echo: hello there', refusal: null }, finish_reason: 'stop', logprobs: null }],
        usage: { prompt_tokens: 2, completion_tokens: 3, total_tokens: 5, completion_tokens_details: { reasoning_tokens: 0 } },
      });
      expect(completion.created).toBeGreaterThanOrEqual(before);
      expect(await rows()).toEqual([
        expect.objectContaining({
          prompt: 'hello there',
          response: 'Echo: hello there',
          source: 'openai',
          session_id: completion.id.slice('chatcmpl-'.length),
          model: 'mistral',
          status: 'ok',
          prompt_tokens: 2,
          completion_tokens: 3,
        }),
      ]);
    });

    it('sends the messages as given and maps the sampling fields onto Ollama options', async () => {
      await start({ GEN_TOP_K: '33' });
      await client.chat.completions.create({
        model: 'llama3',
        messages: [
          { role: 'developer', content: 'Be brief.' },
          { role: 'user', content: 'first question' },
          { role: 'assistant', content: 'first answer' },
          { role: 'user', content: [{ type: 'text', text: 'second' }, { type: 'text', text: 'question' }] },
        ],
        temperature: 0.2,
        top_p: 0.5,
        max_tokens: 50,
        stop: 'END',
        seed: 7,
        presence_penalty: 0.1,
        frequency_penalty: 0.2,
        n: 1,
        user: 'user-1',
      });
      const sent = fake.chatRequests()[0].body;
      expect(sent.model).toBe('llama3');
      expect(sent.messages).toEqual([
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'first question' },
        { role: 'assistant', content: 'first answer' },
        { role: 'user', content: 'second\nquestion' },
      ]);
      expect(sent.options).toEqual({
        temperature: 0.2,
        top_p: 0.5,
        top_k: 33,
        repeat_penalty: 1.1,
        num_predict: 50,
        stop: ['END'],
        seed: 7,
        presence_penalty: 0.1,
        frequency_penalty: 0.2,
      });
      expect((await rows())[0].prompt).toBe('second\nquestion');
    });

    it('prefers max_completion_tokens to max_tokens, and says finish_reason length when it cut the answer', async () => {
      await start();
      const completion = await client.chat.completions.create({
        model: 'mistral',
        messages: [{ role: 'user', content: 'one two three four five' }],
        max_tokens: 50,
        max_completion_tokens: 2,
      });
      expect(fake.chatRequests()[0].body.options.num_predict).toBe(2);
      expect(completion.choices[0].message.content).toBe('Echo: one');
      expect(completion.choices[0].finish_reason).toBe('length');
    });

    it("puts Vega's system prompt first only when the client sent no system message", async () => {
      const { dir, remove } = tempDir();
      const file = join(dir, 'system.txt');
      writeFileSync(file, 'You are Vega.\n');
      try {
        await start({ SYSTEM_PROMPT_FILE: file });
        await client.chat.completions.create({ model: 'mistral', messages: [{ role: 'user', content: 'a' }] });
        await client.chat.completions.create({
          model: 'mistral',
          messages: [
            { role: 'system', content: 'You are a pirate.' },
            { role: 'user', content: 'b' },
          ],
        });
        const [first, second] = fake.chatRequests().map((request) => request.body.messages);
        expect(first).toEqual([
          { role: 'system', content: 'You are Vega.' },
          { role: 'user', content: 'a' },
        ]);
        expect(second).toEqual([
          { role: 'system', content: 'You are a pirate.' },
          { role: 'user', content: 'b' },
        ]);
      } finally {
        remove();
      }
    });

    it('answers a repeated request from the cache and stores it as cached', async () => {
      await start();
      const ask = () => client.chat.completions.create({ model: 'mistral', messages: [{ role: 'user', content: 'again' }], max_tokens: 1 });
      const first = await ask();
      const second = await ask();
      expect(second.choices[0]).toEqual(first.choices[0]);
      expect(second.choices[0].finish_reason).toBe('length');
      expect(second.id).not.toBe(first.id);
      expect(fake.chatRequests()).toHaveLength(1);
      expect((await rows()).map((row) => row.status)).toEqual(['ok', 'cached']);
    });

    it('truncates an answer over MAX_RESPONSE_CHARS with "…" and finish_reason length', async () => {
      await start({ MAX_RESPONSE_CHARS: '10' });
      const completion = await client.chat.completions.create({ model: 'mistral', messages: [{ role: 'user', content: 'a long answer please' }] });
      expect(completion.choices[0].message.content).toBe('Echo: a lo…');
      expect(completion.choices[0].finish_reason).toBe('length');
    });
  });

  describe('streaming', () => {
    it('streams chunks, a usage chunk with include_usage, and ends; the exchange is stored', async () => {
      await start();
      // Tokens 20 ms apart, as a model makes them: each becomes its own chunk.
      fake.enqueue({ kind: 'slow', delayMs: 20 });
      const stream = await client.chat.completions.create({
        model: 'mistral',
        messages: [{ role: 'user', content: 'stream me please' }],
        stream: true,
        stream_options: { include_usage: true },
      });
      const chunks: ChatCompletionChunk[] = [];
      for await (const chunk of stream) chunks.push(chunk);

      const id = chunks[0].id;
      expect(id).toMatch(/^chatcmpl-[0-9a-f]{24}$/);
      for (const chunk of chunks) {
        expect(chunk).toMatchObject({ id, object: 'chat.completion.chunk', model: 'mistral', created: chunks[0].created });
      }
      expect(chunks[0].choices).toEqual([{ index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }]);
      const usageChunk = chunks.at(-1)!;
      expect(usageChunk.choices).toEqual([]);
      expect(usageChunk.usage).toEqual({ prompt_tokens: 3, completion_tokens: 4, total_tokens: 7, completion_tokens_details: { reasoning_tokens: 0 } });
      const finish = chunks.at(-2)!;
      expect(finish.choices).toEqual([{ index: 0, delta: {}, logprobs: null, finish_reason: 'stop' }]);
      const content = chunks.slice(1, -2);
      expect(content.length).toBeGreaterThan(1);
      expect(content.map((chunk) => chunk.choices[0].delta.content).join('')).toBe('Echo: stream me please');
      expect(chunks.slice(0, -1).every((chunk) => chunk.usage === null)).toBe(true);

      const [row] = await rows();
      expect(row).toMatchObject({ status: 'ok', source: 'openai', prompt: 'stream me please', response: 'Echo: stream me please' });
      expect(row.session_id).toBe(id.slice('chatcmpl-'.length));
    });

    it('sends no usage at all without include_usage', async () => {
      await start();
      const stream = await client.chat.completions.create({ model: 'mistral', messages: [{ role: 'user', content: 'x y' }], stream: true });
      const chunks: ChatCompletionChunk[] = [];
      for await (const chunk of stream) chunks.push(chunk);
      expect(chunks.every((chunk) => !('usage' in chunk))).toBe(true);
      expect(chunks.at(-1)!.choices[0].finish_reason).toBe('stop');
    });

    it('cancels the upstream request at once when the client aborts, and stores the partial answer as aborted', async () => {
      await start();
      fake.enqueue({ kind: 'slow', delayMs: 150 });
      const prompt = 'one two three four five six seven eight';
      const stream = await client.chat.completions.create({ model: 'mistral', messages: [{ role: 'user', content: prompt }], stream: true });
      let received = '';
      let count = 0;
      for await (const chunk of stream) {
        received += chunk.choices[0]?.delta.content ?? '';
        count += 1;
        if (count === 3) break; // the SDK aborts its request when the loop is left
      }
      const closedAt = Date.now();
      await fake.waitForAbort(0, 2000);
      expect(Date.now() - closedAt).toBeLessThan(300);
      await waitFor(async () => (await rows()).length === 1);
      const [row] = await rows();
      expect(row.status).toBe('aborted');
      expect(row.response.startsWith(received)).toBe(true);
      expect(row.response.length).toBeLessThan(`Echo: ${prompt}`.length);
    });

    it('cancels upstream and stores aborted when the client gives up before the first token', async () => {
      await start();
      fake.enqueue({ kind: 'hang' });
      const controller = new AbortController();
      const pending = client.chat.completions.create(
        { model: 'mistral', messages: [{ role: 'user', content: 'never answered' }], stream: true },
        { signal: controller.signal },
      );
      await fake.waitForRequests(1);
      const abortedAt = Date.now();
      controller.abort();
      await expect(pending).rejects.toBeInstanceOf(OpenAI.APIUserAbortError);
      await fake.waitForAbort(0, 2000);
      // At once, against timeouts of tens of seconds; the bound leaves room for a loaded 2-core machine (403 ms seen).
      expect(Date.now() - abortedAt).toBeLessThan(1000);
      await waitFor(async () => (await rows()).length === 1);
      expect(await rows()).toEqual([expect.objectContaining({ status: 'aborted', response: '', prompt: 'never answered' })]);
    });

    it('surfaces a failure after the first token as an APIError while iterating, and stores the exchange as error', async () => {
      await start();
      fake.enqueue({ kind: 'error_line', afterChunks: 2, message: 'model crashed' });
      const stream = await client.chat.completions.create({ model: 'mistral', messages: [{ role: 'user', content: 'a b c d e' }], stream: true });
      let received = '';
      const error = await failure(async () => {
        for await (const chunk of stream) received += chunk.choices[0]?.delta.content ?? '';
      });
      expect(received).toBe('Echo: a');
      expect(error.message).toBe('Ollama error: model crashed');
      expect(error.type).toBe('server_error');
      expect(error.code).toBe('backend_error');
      expect(await rows()).toEqual([expect.objectContaining({ status: 'error', response: 'Echo: a' })]);
    });
  });

  describe('errors, as the SDK raises them', () => {
    it('401 for a wrong key (AuthenticationError), and no request reaches the model', async () => {
      await start();
      const error = await failure(() => sdk(t, agents, 'wrong-key').chat.completions.create({ model: 'mistral', messages: [{ role: 'user', content: 'x' }] }));
      expect(error).toBeInstanceOf(OpenAI.AuthenticationError);
      expect(error.status).toBe(401);
      expect(error.error).toEqual({ message: 'Invalid API key', type: 'invalid_request_error', param: null, code: 'invalid_api_key' });
      expect(fake.chatRequests()).toHaveLength(0);
    });

    it('404 model_not_found for a model the backend does not have, streaming or not', async () => {
      await start();
      const messages = [{ role: 'user' as const, content: 'x' }];
      for (const call of [
        () => client.chat.completions.create({ model: 'nope', messages }),
        () => client.chat.completions.create({ model: 'nope', messages, stream: true }),
      ]) {
        const error = await failure(call);
        expect(error).toBeInstanceOf(OpenAI.NotFoundError);
        expect(error.status).toBe(404);
        expect(error.code).toBe('model_not_found');
        expect(error.param).toBe('model');
        expect(error.message).toMatch(/^404 model "nope" not found on any model server; available: \S/);
      }
      expect((await rows()).map((row) => row.status)).toEqual(['error', 'error']);
    });

    it('400 naming the field for an invalid body (BadRequestError)', async () => {
      await start();
      const messages = [{ role: 'user' as const, content: 'x' }];
      const cases: [Record<string, unknown>, string, string][] = [
        [{ temperature: 5 }, 'temperature', 'temperature must not be greater than 2'],
        [{ n: 9 }, 'n', 'n must not be greater than 8: each choice is a generation of its own'],
        [{ stream_options: { include_usage: true } }, 'stream_options', 'stream_options is only allowed when stream is true'],
        [{ messages: [...messages, { role: 'tool', content: 'x', tool_call_id: 'a' }] }, 'messages.1.tool_call_id', 'messages.1.tool_call_id "a" answers no tool call of an earlier assistant message'],
        [{ messages: [{ role: 'system', content: 'x' }] }, 'messages', 'messages must contain at least one message with role "user"'],
        [{ messages: [{ role: 'user', content: [{ type: 'input_audio', input_audio: { data: 'AA==', format: 'wav' } }] }] }, 'messages.0.content', 'messages.0.content.0.type input_audio: audio input is not supported'],
      ];
      for (const [patch, param, message] of cases) {
        const error = await failure(() => client.chat.completions.create({ model: 'mistral', messages, ...patch } as never));
        expect(error).toBeInstanceOf(OpenAI.BadRequestError);
        expect({ status: error.status, param: error.param, type: error.type }).toEqual({ status: 400, param, type: 'invalid_request_error' });
        expect(error.error).toEqual(expect.objectContaining({ message: expect.stringContaining(message) }));
      }
      const unknown = await failure(() => client.chat.completions.create({ model: 'mistral', messages, logit_bias: { '50256': -100 } } as never));
      expect({ param: unknown.param, code: unknown.code }).toEqual({ param: 'logit_bias', code: 'unknown_parameter' });
      expect(fake.chatRequests()).toHaveLength(0);
    });

    it('413 when the last user message is longer than MAX_PROMPT_CHARS', async () => {
      await start({ MAX_PROMPT_CHARS: '10' });
      const error = await failure(() =>
        client.chat.completions.create({ model: 'mistral', messages: [{ role: 'user', content: 'this is far too long' }] }),
      );
      expect(error.status).toBe(413);
      expect(error.error).toEqual({
        message: 'the last user message is 20 characters; the limit is 10 (MAX_PROMPT_CHARS)',
        type: 'invalid_request_error',
        param: 'messages',
        code: 'context_length_exceeded',
      });
    });

    it('503 with Retry-After when the backend is down, for chat and for the model list', async () => {
      const port = await freePort();
      await start({ OLLAMA_URL: `http://127.0.0.1:${port}`, LLM_MAX_RETRIES: '0' });
      const chat = await failure(() => client.chat.completions.create({ model: 'mistral', messages: [{ role: 'user', content: 'x' }], stream: true }));
      expect(chat).toBeInstanceOf(OpenAI.InternalServerError);
      expect(chat.status).toBe(503);
      expect(chat.code).toBe('backend_unavailable');
      expect(chat.type).toBe('server_error');
      expect(chat.headers?.get('retry-after')).toBe('5');
      const models = await failure(() => client.models.list());
      expect(models.status).toBe(503);
      expect(models.message).toMatch(/^503 Ollama is unreachable at http:\/\/127\.0\.0\.1:\d+ \(connection refused\); is it running\?$/);
    });

    it('429 past RATE_LIMIT_PER_MINUTE (RateLimitError), counted with the other chat routes', async () => {
      await start({ RATE_LIMIT_PER_MINUTE: '2' });
      const ask = () => client.chat.completions.create({ model: 'mistral', messages: [{ role: 'user', content: 'x' }] });
      await ask();
      expect((await t.request('/chat', { body: { prompt: 'y' } })).status).toBe(200);
      const error = await failure(ask);
      expect(error).toBeInstanceOf(OpenAI.RateLimitError);
      expect(error.status).toBe(429);
      expect(error.code).toBe('rate_limit_exceeded');
      expect(Number(error.headers?.get('retry-after'))).toBeGreaterThan(0);
    });
  });

  describe('models', () => {
    it('lists the backend models', async () => {
      await start();
      const models = [];
      for await (const model of client.models.list()) models.push(model);
      expect(models).toEqual([
        { id: 'llama3:latest', object: 'model', created: 1748779200, owned_by: 'ollama', capabilities: ['completion'], context_length: 32768, type: 'model', display_name: 'llama3:latest', created_at: '2025-06-01T12:00:00Z' },
        { id: 'mistral:latest', object: 'model', created: 1748779200, owned_by: 'ollama', capabilities: ['completion'], context_length: 32768, type: 'model', display_name: 'mistral:latest', created_at: '2025-06-01T12:00:00Z' },
      ]);
    });

    it('retrieves one model by name (the :latest tag may be left out), 404 for an unknown one', async () => {
      await start();
      expect(await client.models.retrieve('mistral')).toEqual({
        id: 'mistral:latest',
        object: 'model',
        created: 1748779200,
        owned_by: 'ollama',
        capabilities: ['completion'],
        context_length: 32768,
        type: 'model',
        display_name: 'mistral:latest',
        created_at: '2025-06-01T12:00:00Z',
      });
      expect((await client.models.retrieve('llama3:latest')).id).toBe('llama3:latest');
      const error = await failure(() => client.models.retrieve('nope'));
      expect(error).toBeInstanceOf(OpenAI.NotFoundError);
      expect(error.code).toBe('model_not_found');
    });
  });
});
