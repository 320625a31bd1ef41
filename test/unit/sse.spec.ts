import { BackendError } from '../../src/common/errors/app-errors';
import type { BackendChunk } from '../../src/core/llm/llm-backend';
import { toOpenAiOptions } from '../../src/core/llm/backends/openai/openai-request';
import { ChatEventReader, errorOf } from '../../src/core/llm/backends/openai/openai-stream';
import { LineTooLongError } from '../../src/core/llm/transport/ndjson';
import { SseDecoder, SseEvent } from '../../src/core/llm/transport/sse';

/** Feeds `pieces` one at a time, then ends. */
function decode(pieces: (string | Buffer)[]): SseEvent[] {
  const decoder = new SseDecoder();
  return [...pieces.flatMap((piece) => decoder.push(piece)), ...decoder.end()];
}

const STREAM =
  ': hello\r\n' +
  'data: {"choices":[{"delta":{"content":"Hé"}}]}\r\n\r\n' +
  'event: message\r\ndata: line one\r\ndata:line two\r\n\r\n' +
  'id: 7\nretry: 100\ndata: {"x":1}\n\n' +
  'data: [DONE]\r\r';

const EXPECTED: SseEvent[] = [
  { event: 'message', data: '{"choices":[{"delta":{"content":"Hé"}}]}' },
  { event: 'message', data: 'line one\nline two' },
  { event: 'message', data: '{"x":1}' },
  { event: 'message', data: '[DONE]' },
];

describe('SseDecoder', () => {
  it('parses data, multi-line frames, comments, CRLF, LF and CR line ends', () => {
    expect(decode([STREAM])).toEqual(EXPECTED);
  });

  it('gives the same events whatever the chunk boundaries (every split point, bytes included)', () => {
    const bytes = Buffer.from(STREAM);
    for (let cut = 1; cut < bytes.length; cut++) {
      expect(decode([bytes.subarray(0, cut), bytes.subarray(cut)])).toEqual(EXPECTED);
    }
    expect(decode(Array.from(bytes, (byte) => Buffer.from([byte])))).toEqual(EXPECTED);
  });

  it('hands on a last event whose closing blank line never came, and drops empty events', () => {
    expect(decode(['data: a\n\n\n\nevent: x\n\ndata: [DONE]'])).toEqual([
      { event: 'message', data: 'a' },
      { event: 'message', data: '[DONE]' },
    ]);
  });

  it('reassembles a line cut into many chunks, with multi-byte characters cut inside them', () => {
    const bytes = Buffer.from(`data: ${'é'.repeat(30)}👋\r\n\r\ndata: b\n\n`);
    const decoder = new SseDecoder(70); // the first line is 70 bytes
    const events: SseEvent[] = [];
    for (let at = 0; at < bytes.length; at += 5) events.push(...decoder.push(bytes.subarray(at, at + 5)));
    expect([...events, ...decoder.end()]).toEqual([
      { event: 'message', data: `${'é'.repeat(30)}👋` },
      { event: 'message', data: 'b' },
    ]);
  });

  it('raises LineTooLongError when a line passes the limit without a line end, counting bytes', () => {
    const decoder = new SseDecoder(16);
    expect(decoder.push(Buffer.from('data: a\n\ndata: éé'))).toEqual([{ event: 'message', data: 'a' }]); // 10 bytes pending
    expect(() => decoder.push(Buffer.from('éééé'))).toThrow(LineTooLongError); // 18 bytes, 10 characters
  });

  it('raises LineTooLongError for a long line that ends in the chunk that carries it over the limit, or inside one chunk', () => {
    const across = new SseDecoder(16);
    across.push('data: 0123456');
    expect(() => across.push('789abcdef\n\n')).toThrow(LineTooLongError);
    expect(() => new SseDecoder(16).push(`data: ${'x'.repeat(60)}\n\n`)).toThrow(LineTooLongError);
  });

  it('raises LineTooLongError when data lines pile up past the limit without a blank line', () => {
    const decoder = new SseDecoder(16);
    expect(() => decoder.push('data: 01234\ndata: 56789\ndata: abcde\n')).toThrow(LineTooLongError);
  });

  it('keeps time linear for a huge line without a line end', () => {
    const decoder = new SseDecoder();
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    const started = performance.now();
    let sent = 0;
    expect(() => {
      for (; sent < 16 * 1024 * 1024; sent += chunk.length) decoder.push(chunk);
    }).toThrow(LineTooLongError);
    expect(sent).toBeLessThanOrEqual(1024 * 1024);
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it("reads llama.cpp's `error:` field and `event: error` as error events", () => {
    expect(decode(['error: {"code":500}\n\n', 'event: error\ndata: boom\n\n'])).toEqual([
      { event: 'error', data: '{"code":500}' },
      { event: 'error', data: 'boom' },
    ]);
  });
});

function run(batches: SseEvent[][], end = true): BackendChunk[] {
  const reader = new ChatEventReader();
  const out: BackendChunk[] = [];
  for (const batch of batches) out.push(...reader.read(batch));
  if (end) out.push(...reader.finish());
  return out;
}
const data = (value: unknown): SseEvent => ({ event: 'message', data: typeof value === 'string' ? value : JSON.stringify(value) });
const content = (text: string) => data({ choices: [{ index: 0, delta: { content: text }, finish_reason: null }] });
const finish = (reason: string, usage?: object) => data({ choices: [{ index: 0, delta: {}, finish_reason: reason }], usage: usage ?? null });
const usage = data({ choices: [], usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 } });

describe('ChatEventReader', () => {
  it('joins the text of one read into one token, and ends at [DONE] with the usage chunk', () => {
    expect(run([[content('Hel'), content('lo')], [content('!'), finish('stop'), usage, data('[DONE]')]])).toEqual([
      { type: 'token', text: 'Hello' },
      { type: 'token', text: '!' },
      { type: 'done', usage: { promptTokens: 3, completionTokens: 2 }, doneReason: 'stop' },
    ]);
  });

  it('takes the usage from the finish chunk (llama.cpp) and needs no [DONE] then', () => {
    const reader = new ChatEventReader();
    expect([...reader.read([content('a'), finish('length', { prompt_tokens: 4, completion_tokens: 1 })])]).toEqual([
      { type: 'token', text: 'a' },
      { type: 'done', usage: { promptTokens: 4, completionTokens: 1 }, doneReason: 'length' },
    ]);
    expect(reader.sawDone).toBe(true);
  });

  it('counts usage as 0 when the server sends none, and accepts an end without [DONE] after a finish_reason', () => {
    expect(run([[content('a'), finish('stop')]])).toEqual([
      { type: 'token', text: 'a' },
      { type: 'done', usage: { promptTokens: 0, completionTokens: 0 }, doneReason: 'stop' },
    ]);
  });

  it('is not done when the body ends before a finish_reason or [DONE]', () => {
    const reader = new ChatEventReader();
    expect([...reader.read([content('a')]), ...reader.finish()]).toEqual([{ type: 'token', text: 'a' }]);
    expect(reader.sawDone).toBe(false);
  });

  it('raises a BackendError for an error frame, after handing on the text before it', () => {
    const reader = new ChatEventReader();
    const out: BackendChunk[] = [];
    expect(() => {
      for (const chunk of reader.read([content('a'), data({ error: { message: 'out of memory', type: 'server_error' } })])) out.push(chunk);
    }).toThrow(new BackendError('The OpenAI-compatible server reported an error mid-stream: out of memory'));
    expect(out).toEqual([{ type: 'token', text: 'a' }]);
  });

  it('raises a BackendError for a frame that is not JSON', () => {
    expect(() => run([[data('{"choices": [')]])).toThrow('Malformed event from the OpenAI-compatible server: {"choices": [');
  });
});

describe('OpenAI request and error bodies', () => {
  it('maps Vega generation options to OpenAI fields, keeping top_k/repeat_penalty and refusing other Ollama options', () => {
    expect(
      toOpenAiOptions({ temperature: 0.2, top_p: 0.9, top_k: 40, repeat_penalty: 1.1, presence_penalty: 0, frequency_penalty: 0.5, seed: 1, stop: ['\n'], num_predict: 64 }),
    ).toEqual({ temperature: 0.2, top_p: 0.9, top_k: 40, repeat_penalty: 1.1, presence_penalty: 0, frequency_penalty: 0.5, seed: 1, stop: ['\n'], max_tokens: 64 });
    expect(() => toOpenAiOptions({ temperature: 0.2, num_ctx: 4096 })).toThrow("options.num_ctx: Ollama's num_ctx has no equivalent on an OpenAI-compatible server");
  });

  it("reads OpenAI's, plain and vLLM's older error bodies", () => {
    expect(errorOf('{"error":{"message":"nope","type":"invalid_request_error","code":"model_not_found"}}')).toEqual({ message: 'nope', code: 'model_not_found' });
    expect(errorOf('{"error":"busy"}')).toEqual({ message: 'busy' });
    expect(errorOf('{"object":"error","message":"The model `x` does not exist.","type":"NotFoundError","code":404}')).toEqual({
      message: 'The model `x` does not exist.',
      code: undefined,
    });
    expect(errorOf('Internal Server Error')).toEqual({});
  });
});
