import Anthropic, {
  APIError,
  AuthenticationError,
  BadRequestError,
  ContentTooLargeError,
  NotFoundError,
  OverloadedError,
  PermissionDeniedError,
  RateLimitError,
} from '@anthropic-ai/sdk';
import { fetch as undiciFetch } from 'undici';
import { queryDb } from '../support/sqlite';
import { scopedKeys, TEST_API_KEY, TestApp, useAppWithFakeOllama } from '../support/test-app';

const RESEARCH_KEY = 'research-key-0123456789abcdef';

interface Row {
  prompt: string;
  response: string;
  source: string;
  status: string;
}

async function waitFor(check: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const question = [{ role: 'user' as const, content: 'hello there' }];

/**
 * Errors on /v1/messages as the unmodified Anthropic SDK raises them, and the bodies in
 * Anthropic's shape (`{"type": "error", "error": {"type", "message"}}`) for every refusal: keys,
 * unknown models, bad input, limits, an overloaded backend, a failure mid-stream, a client that
 * leaves.
 */
describe('Anthropic SDK: /v1/messages errors', () => {
  const harness = useAppWithFakeOllama(['mistral', { name: 'qwen3', capabilities: ['completion', 'tools', 'thinking'] }]);
  const { fake } = harness;
  let t: TestApp | undefined;

  const start = async (env: Record<string, string> = {}) => {
    t = await harness.start(env, { keyStores: [scopedKeys({ [RESEARCH_KEY]: ['research'] })] });
  };
  const sdk = (auth: { apiKey?: string; authToken?: string } = { apiKey: TEST_API_KEY }) =>
    new Anthropic({
      baseURL: t!.url,
      apiKey: null,
      ...auth,
      maxRetries: 0,
      timeout: 20_000,
      fetch: undiciFetch as unknown as typeof fetch,
      fetchOptions: { dispatcher: harness.dispatcher() } as unknown as Anthropic['fetchOptions'],
    });
  const rows = () => queryDb<Row>(t!.dbPath, 'SELECT * FROM conversations ORDER BY id');
  const failure = (call: Promise<unknown>) => call.then(() => { throw new Error('expected the call to fail'); }, (error: unknown) => error as APIError);

  it('a wrong key is AuthenticationError (authentication_error); a Bearer token (authToken) is accepted too', async () => {
    await start();
    const error = await failure(sdk({ apiKey: 'wrong-key' }).messages.create({ model: 'mistral', max_tokens: 10, messages: question }));
    expect(error).toBeInstanceOf(AuthenticationError);
    expect(error.error).toEqual({ type: 'error', error: { type: 'authentication_error', message: expect.any(String) } });
    expect(fake.chatRequests()).toHaveLength(0);
    const message = await sdk({ authToken: TEST_API_KEY }).messages.create({ model: 'mistral', max_tokens: 10, messages: question });
    expect(message.content).toEqual([{ type: 'text', text: 'Echo: hello there' }]);
  });

  it('a key without the chat scope is PermissionDeniedError (permission_error) naming the scope', async () => {
    await start();
    const error = await failure(sdk({ apiKey: RESEARCH_KEY }).messages.create({ model: 'mistral', max_tokens: 10, messages: question }));
    expect(error).toBeInstanceOf(PermissionDeniedError);
    expect(error.error).toEqual({ type: 'error', error: { type: 'permission_error', message: 'This route needs a key with the chat scope' } });
    expect(fake.chatRequests()).toHaveLength(0);
  });

  it('an unknown model is NotFoundError (not_found_error), streamed or not, and nothing is generated', async () => {
    await start();
    const error = await failure(sdk().messages.create({ model: 'no-such-model', max_tokens: 10, messages: question }));
    expect(error).toBeInstanceOf(NotFoundError);
    expect(error.error).toMatchObject({ type: 'error', error: { type: 'not_found_error' } });
    const streamed = await failure(sdk().messages.stream({ model: 'no-such-model', max_tokens: 10, messages: question }).finalMessage());
    expect(streamed).toBeInstanceOf(NotFoundError);
  });

  it.each([
    ['max_tokens missing', { model: 'mistral', messages: question }, 'max_tokens is required'],
    ['max_tokens zero', { model: 'mistral', max_tokens: 0, messages: question }, 'max_tokens must not be less than 1'],
    ['a system role in messages', { model: 'mistral', max_tokens: 10, messages: [{ role: 'system', content: 'x' }] }, 'messages.0.role must be one of user, assistant'],
    ['no messages', { model: 'mistral', max_tokens: 10, messages: [] }, 'messages must contain at least one message'],
    ['content of the wrong type', { model: 'mistral', max_tokens: 10, messages: [{ role: 'user', content: 42 }] }, 'messages.0.content must be a string or a non-empty array of content blocks'],
    ['an unknown block', { model: 'mistral', max_tokens: 10, messages: [{ role: 'user', content: [{ type: 'video', url: 'x' }] }] }, 'messages.0.content.0.type must be one of text, image or tool_result (got "video")'],
    ['a document block', { model: 'mistral', max_tokens: 10, messages: [{ role: 'user', content: [{ type: 'document', source: {} }] }] }, 'messages.0.content.0.type document: documents'],
    ['tool_use from the user', { model: 'mistral', max_tokens: 10, messages: [{ role: 'user', content: [{ type: 'tool_use', id: 'a', name: 'f', input: {} }] }] }, 'messages.0.content.0.type tool_use is only allowed in assistant messages'],
    ['a text block without text', { model: 'mistral', max_tokens: 10, messages: [{ role: 'user', content: [{ type: 'text' }] }] }, 'messages.0.content.0.text must be a string'],
    ['a file image source', { model: 'mistral', max_tokens: 10, messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'file', file_id: 'f' } }] }] }, 'the Files API is not supported'],
    ['temperature as a string', { model: 'mistral', max_tokens: 10, temperature: 'hot', messages: question }, 'temperature must be a number'],
    ['temperature above 1', { model: 'mistral', max_tokens: 10, temperature: 1.5, messages: question }, 'temperature must not be greater than 1'],
    ['a field Vega does not honour', { model: 'mistral', max_tokens: 10, service_tier: 'auto', messages: question }, 'property service_tier should not exist'],
    ['a server tool', { model: 'mistral', max_tokens: 10, tools: [{ type: 'web_search_20250305', name: 'web_search' }], messages: question }, 'tools.0.type must be "custom"'],
    ['a tool_choice naming no tool', { model: 'mistral', max_tokens: 10, tools: [{ name: 'f', input_schema: { type: 'object' } }], tool_choice: { type: 'tool', name: 'g' }, messages: question }, 'tool_choice.name "g" is not one of the tools'],
    ['a thinking budget not below max_tokens', { model: 'qwen3', max_tokens: 1024, thinking: { type: 'enabled', budget_tokens: 1024 }, messages: question }, 'thinking.budget_tokens must be less than max_tokens'],
    ['a tool_result answering no call', { model: 'mistral', max_tokens: 10, messages: [{ role: 'user', content: [{ type: 'tool_result', tool_use_id: 'call_x', content: '1' }] }] }, 'messages.0.content.0.tool_use_id "call_x" answers no tool_use block'],
    ['stop_sequences not strings', { model: 'mistral', max_tokens: 10, stop_sequences: [1], messages: question }, 'each value in stop_sequences must be a string'],
  ])('%s: 400 invalid_request_error naming the field (BadRequestError)', async (_name, body, message) => {
    await start();
    const res = await t!.request('/v1/messages', { body });
    expect(res.status).toBe(400);
    const json = await res.json();
    expect(json).toEqual({ type: 'error', error: { type: 'invalid_request_error', message: expect.stringContaining(message) } });
    const error = await failure(sdk().post('/v1/messages', { body }));
    expect(error).toBeInstanceOf(BadRequestError);
    expect(fake.chatRequests()).toHaveLength(0);
    expect(await rows()).toHaveLength(0);
  });

  it('malformed JSON and a body over the limit answer in Anthropic\'s shape too', async () => {
    await start();
    const bad = await t!.request('/v1/messages', { body: '{"model": ' });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({ type: 'error', error: { type: 'invalid_request_error', message: expect.stringContaining('Malformed JSON') } });
    const huge = 'x'.repeat(12 * 1024 * 1024);
    const error = await failure(sdk().messages.create({ model: 'mistral', max_tokens: 10, messages: [{ role: 'user', content: huge }] }));
    expect(error).toBeInstanceOf(ContentTooLargeError);
    expect(error.error).toMatchObject({ type: 'error', error: { type: 'request_too_large' } });
    const count = await t!.request('/v1/messages/count_tokens', { body: { model: 'mistral' } });
    expect(count.status).toBe(400);
    expect(await count.json()).toEqual({ type: 'error', error: { type: 'invalid_request_error', message: expect.stringContaining('messages') } });
  });

  it('the rate limit is RateLimitError (rate_limit_error) with Retry-After', async () => {
    await start({ RATE_LIMIT_PER_MINUTE: '1' });
    await sdk().messages.countTokens({ model: 'mistral', messages: question });
    const error = await failure(sdk().messages.countTokens({ model: 'mistral', messages: question }));
    expect(error).toBeInstanceOf(RateLimitError);
    expect(error.error).toMatchObject({ type: 'error', error: { type: 'rate_limit_error' } });
    expect(Number(error.headers?.get('retry-after'))).toBeGreaterThan(0);
  });

  it('an open circuit breaker is 529 OverloadedError (overloaded_error) with Retry-After; a backend failure is api_error', async () => {
    await start({ BREAKER_FAIL_THRESHOLD: '1', LLM_MAX_RETRIES: '0' });
    fake.enqueue({ kind: 'status', status: 500, message: 'boom' });
    const first = await failure(sdk().messages.create({ model: 'mistral', max_tokens: 10, messages: question }));
    expect(first.status).toBe(502);
    expect(first.error).toMatchObject({ type: 'error', error: { type: 'api_error' } });
    const second = await failure(sdk().messages.create({ model: 'mistral', max_tokens: 10, messages: question }));
    expect(second).toBeInstanceOf(OverloadedError);
    expect(second.status).toBe(529);
    expect(second.error).toMatchObject({ type: 'error', error: { type: 'overloaded_error' } });
    expect(Number(second.headers?.get('retry-after'))).toBeGreaterThan(0);
  });

  it('a failure after the stream started is an event: error the SDK throws; the exchange is stored as error', async () => {
    await start();
    fake.enqueue({ kind: 'error_line', afterChunks: 2, message: 'model crashed' });
    const stream = sdk().messages.stream({ model: 'mistral', max_tokens: 10, messages: [{ role: 'user', content: 'a b c d e' }] });
    const error = await failure(stream.finalMessage());
    expect(error).toBeInstanceOf(APIError);
    expect(error.error).toEqual({ type: 'error', error: { type: 'api_error', message: 'Ollama error: model crashed' } });
    await waitFor(async () => (await rows()).length === 1);
    expect(await rows()).toEqual([expect.objectContaining({ source: 'anthropic', status: 'error', response: 'Echo: a' })]);
  });

  it('a client that leaves mid-stream cancels the generation upstream; the exchange is stored as aborted', async () => {
    await start();
    fake.enqueue({ kind: 'slow', delayMs: 150 });
    const prompt = 'one two three four five six seven eight';
    const stream = await sdk().messages.create({ model: 'mistral', max_tokens: 100, stream: true, messages: [{ role: 'user', content: prompt }] });
    let received = '';
    for await (const event of stream) {
      if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') received += event.delta.text;
      if (received.length > 0 && received.includes('one')) break; // the SDK aborts its request when the loop is left
    }
    await fake.waitForAbort(0, 3000);
    await waitFor(async () => (await rows()).length === 1);
    const [row] = await rows();
    expect(row.status).toBe('aborted');
    expect(row.response.startsWith(received)).toBe(true);
    expect(row.response.length).toBeLessThan(`Echo: ${prompt}`.length);
  });
});
