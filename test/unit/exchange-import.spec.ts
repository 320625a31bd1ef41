import type { ConversationExchange } from '../../src/core/persistence/conversation-history.repository';
import type { StoredAnswer, StoredImage, StoredMessage, StoredRequest } from '../../src/core/persistence/stored-exchange';
import { parseExportLine } from '../../src/modules/admin/conversation-import';
import { MAX_EXCHANGE_JSON_CHARS } from '../../src/modules/admin/exchange-import';
import { toExchangeDto } from '../../src/modules/history/stored-exchange.mapper';

/**
 * Every field the store keeps, set: typed `Required<…>`, so a field added to the stored shapes
 * does not compile here until it is listed, and then fails the round trip until the import reads it.
 */
const IMAGE: Required<StoredImage> = { mime: 'image/png', bytes: 67, sha256: 'a'.repeat(64), data: 'iVBORw0KGgo=' };
const MESSAGE: Required<StoredMessage> = {
  role: 'assistant',
  content: '',
  images: [IMAGE],
  thinking: 't',
  toolCalls: [{ id: 'call_1', name: 'f', arguments: { a: [1, { b: null }] } }],
  toolCallId: 'call_0',
  toolName: 'f',
};
const REQUEST: Required<StoredRequest> = {
  model: 'qwen3',
  messages: [{ role: 'user', content: 'look' }, MESSAGE, { role: 'tool', content: 'done', toolCallId: 'call_1', toolName: 'f' }],
  prompt: 'raw',
  suffix: 'end',
  system: 'You complete code.',
  template: '{{ .Prompt }}',
  raw: false,
  contextTokens: 12,
  images: [IMAGE],
  input: ['one'],
  dimensions: 8,
  truncate: true,
  options: { temperature: 0.5 },
  tools: [{ name: 'f', description: 'does f', parameters: { type: 'object' } }],
  toolChoice: { name: 'f' },
  parallelToolCalls: false,
  format: { schema: { type: 'object' }, name: 'x', strict: true },
  think: 'max',
  keepAlive: 300,
  logprobs: true,
  topLogprobs: 3,
};
const ANSWER: Required<StoredAnswer> = {
  text: 'a',
  thinking: 'why',
  toolCalls: [{ id: 'call_2', name: 'g', arguments: {} }],
  finishReason: 'tool_calls',
  stopSequence: 'END',
  inputs: 2,
  dimensions: 8,
};
const FULL: Required<ConversationExchange> = {
  id: 9,
  ts: new Date('2026-11-24T10:15:30.123Z'),
  prompt: 'p',
  response: 'r',
  source: 'openai',
  sessionId: 's',
  rating: 4,
  tags: 'good',
  notes: 'n',
  reviewed: true,
  model: 'qwen3',
  status: 'ok',
  promptTokens: 1,
  completionTokens: 2,
  durationMs: 3,
  ttftMs: 4,
  modelMs: 5,
  kind: 'chat',
  keyId: 'key-7',
  request: REQUEST,
  answer: ANSWER,
  responseId: 'resp_0123456789abcdef01234567',
  servedModel: 'llama3.2',
  target: 'gpu-2',
};

describe(parseExportLine.name, () => {
  it('reads back every field of what GET /conversations/{id} writes (the inverse of its mapper)', () => {
    const { id: _id, ...rest } = FULL;
    expect(parseExportLine(JSON.stringify(toExchangeDto(FULL)), 1)).toEqual(rest);
  });

  it.each([
    ['string tool_choice', { tool_choice: 'required' }],
    ['"json" format', { format: 'json' }],
    ['boolean think', { think: false }],
    ['string keep_alive', { keep_alive: '5m' }],
  ])('accepts a %s', (_name, fields) => {
    const line = JSON.stringify({ prompt: 'p', response: 'r', request: { model: 'm', ...fields } });
    expect(parseExportLine(line, 1).request).toMatchObject({ model: 'm' });
  });

  it('refuses a response_id that is not a resp_ id', () => {
    const line = JSON.stringify({ prompt: 'p', response: 'r', response_id: 'msg_1' });
    expect(() => parseExportLine(line, 2)).toThrow('line 2: response_id must be "resp_" and 1 to 64 letters or digits');
  });

  it(`refuses a request of more than ${MAX_EXCHANGE_JSON_CHARS / 1024 / 1024} MiB of JSON`, () => {
    const line = JSON.stringify({ prompt: 'p', response: 'r', request: { model: 'm', prompt: 'x'.repeat(MAX_EXCHANGE_JSON_CHARS) } });
    expect(() => parseExportLine(line, 3)).toThrow('line 3: request is larger than 64 MiB of JSON');
  });
});
