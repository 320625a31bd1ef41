import { TEST_API_KEY, TestApp, useAppWithFakeOllama } from '../support/test-app';
import { FakeAnswer } from '../support/fake-ollama';

/**
 * The same request body sent to Vega's `/api/*` and straight to the fake Ollama: the bytes
 * must have the same shape — the content type, the lines, each line's fields in the same order
 * with values of the same JSON types — and the same text; timestamps and durations aside.
 */
describe('Ollama wire: Vega against Ollama itself', () => {
  const env = useAppWithFakeOllama([
    'mistral',
    { name: 'qwen3', capabilities: ['completion', 'tools', 'thinking', 'insert'] },
  ]);
  const fake = env.fake;
  let t: TestApp;

  /** POSTs `body` to Ollama and to Vega (scripting the same answer for both); returns both raw replies. */
  async function both(path: string, body: unknown, answer?: FakeAnswer) {
    const send = async (base: string, headers: Record<string, string>) => {
      if (answer) fake.enqueue({ kind: 'answer', answer });
      const res = await fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
      return { status: res.status, type: res.headers.get('content-type'), text: await res.text() };
    };
    const ollama = await send(fake.url, {});
    const vega = await send(t.url, { authorization: `Bearer ${TEST_API_KEY}` });
    return { ollama, vega };
  }

  /**
   * A JSON value with every string, number and boolean replaced by its type (the shape, in key
   * order); an array by the distinct shapes of its items (how many there are is the content's).
   */
  function shape(value: unknown, key = ''): unknown {
    if (Array.isArray(value)) return [...new Set(value.map((item) => JSON.stringify(shape(item))))].map((item) => JSON.parse(item) as unknown);
    if (value !== null && typeof value === 'object') return Object.entries(value).map(([name, item]) => [name, shape(item, name)]);
    if (key === 'created_at') return 'timestamp';
    return typeof value;
  }

  /** What an answer says: its reasoning, its text, its tool calls (without their random ids) and why it ended. */
  function said(lines: Record<string, any>[]) {
    const message = (line: Record<string, any>) => line.message ?? line;
    return {
      thinking: lines.map((line) => message(line).thinking ?? '').join(''),
      text: lines.map((line) => message(line).content ?? message(line).response ?? '').join(''),
      calls: lines.flatMap((line) => (message(line).tool_calls ?? []).map((call: any) => call.function)),
      logprobs: lines.flatMap((line) => line.logprobs ?? []),
      doneReason: lines.at(-1)!.done_reason,
    };
  }

  /**
   * The shapes of the lines in order, a run of lines of one shape counted once: Vega hands the
   * text of lines that reached it in one network read on as one line (the same text, fewer lines).
   */
  function shapes(lines: Record<string, any>[]): unknown[] {
    const all = lines.map((line) => JSON.stringify(shape(line)));
    return all.filter((item, index) => item !== all[index - 1]).map((item) => JSON.parse(item) as unknown);
  }

  function expectSame(replies: Awaited<ReturnType<typeof both>>): void {
    const { ollama, vega } = replies;
    expect(vega.status).toBe(ollama.status);
    expect(vega.type).toBe(ollama.type);
    expect(vega.text.endsWith('\n')).toBe(ollama.text.endsWith('\n'));
    const parse = (raw: string) => raw.split('\n').filter((line) => line !== '').map((line) => JSON.parse(line) as Record<string, any>);
    const ours = parse(vega.text);
    const theirs = parse(ollama.text);
    expect(shapes(ours)).toEqual(shapes(theirs));
    expect(said(ours)).toEqual(said(theirs));
    // Counts are the backend's own.
    for (const key of ['prompt_eval_count', 'eval_count']) expect(ours.at(-1)![key]).toBe(theirs.at(-1)![key]);
  }

  beforeEach(async () => {
    t = await env.start();
  });

  it('a streamed chat: token lines, then the done line', async () => {
    expectSame(await both('/api/chat', { model: 'mistral', messages: [{ role: 'user', content: 'one two three' }] }));
  });

  it('a whole chat (stream: false)', async () => {
    expectSame(await both('/api/chat', { model: 'mistral', stream: false, messages: [{ role: 'user', content: 'one two three' }] }));
  });

  it('a streamed chat with thinking and a tool call; and whole', async () => {
    const body = {
      model: 'qwen3',
      messages: [{ role: 'user', content: 'weather?' }],
      tools: [{ type: 'function', function: { name: 'weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }],
    };
    const answer = { thinking: 'I should call it.', toolCalls: [{ name: 'weather', arguments: { city: 'Oslo' } }] };
    expectSame(await both('/api/chat', body, answer));
    expectSame(await both('/api/chat', { ...body, stream: false }, answer));
  });

  it('a chat with logprobs, streamed and whole', async () => {
    const body = { model: 'mistral', messages: [{ role: 'user', content: 'a b' }], logprobs: true, top_logprobs: 2 };
    expectSame(await both('/api/chat', body));
    expectSame(await both('/api/chat', { ...body, stream: false }));
  });

  it('a streamed generate and a whole one, with thinking', async () => {
    expectSame(await both('/api/generate', { model: 'mistral', prompt: 'one two' }));
    expectSame(await both('/api/generate', { model: 'mistral', prompt: 'one two', stream: false }));
    const answer = { thinking: 'Hmm.', content: 'Yes.' };
    expectSame(await both('/api/generate', { model: 'qwen3', prompt: 'ok?' }, answer));
    expectSame(await both('/api/generate', { model: 'qwen3', prompt: 'ok?', stream: false }, answer));
  });

  it('a load: an empty chat or prompt is one object, whatever stream says', async () => {
    expectSame(await both('/api/chat', { model: 'mistral', messages: [] }));
    expectSame(await both('/api/generate', { model: 'mistral' }));
  });

  it('errors: the same status and {"error"} body', async () => {
    for (const [path, body] of [
      ['/api/chat', { messages: [] }],
      ['/api/chat', { model: 'nope', messages: [{ role: 'user', content: 'x' }] }],
      ['/api/chat', { model: 'mistral', stream: 'yes', messages: [] }],
      ['/api/chat', { model: 'mistral', messages: 'hi' }],
      ['/api/chat', { model: 'mistral', messages: [{ role: 'user', content: 7 }] }],
      ['/api/chat', { model: 'mistral', think: 'very', messages: [] }],
      ['/api/chat', { model: 'mistral', top_logprobs: 21, messages: [] }],
      ['/api/chat', { model: 'mistral', format: 'xml', messages: [] }],
      ['/api/chat', { model: 'mistral', messages: [{ role: 'user', content: 'x', images: ['not base64!'] }] }],
      ['/api/chat', [1, 2]],
      ['/api/generate', { model: 'mistral', prompt: 'x', raw: true, system: 'no' }],
      ['/api/generate', { model: 'mistral', prompt: 5 }],
      ['/api/generate', { model: 'mistral', prompt: 'x', images: ['@@@@'] }],
      // Refused by Ollama itself (capabilities): its own words come through.
      ['/api/generate', { model: 'mistral', prompt: 'x', suffix: 'y' }],
      ['/api/chat', { model: 'mistral', think: true, messages: [{ role: 'user', content: 'x' }] }],
    ] as const) {
      const { ollama, vega } = await both(path, body);
      expect({ path, body, status: vega.status, error: JSON.parse(vega.text) }).toEqual({ path, body, status: ollama.status, error: JSON.parse(ollama.text) });
      expect(vega.type).toMatch(/^application\/json/);
    }
  });
});
