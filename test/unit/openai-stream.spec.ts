import { BackendError } from '../../src/common/errors/app-errors';
import type { BackendChunk } from '../../src/core/llm/llm-backend';
import { ChatEventReader } from '../../src/core/llm/backends/openai/openai-stream';
import type { SseEvent } from '../../src/core/llm/transport/sse';

const data = (value: unknown): SseEvent => ({ event: 'message', data: typeof value === 'string' ? value : JSON.stringify(value) });
const delta = (value: object, finish: string | null = null) => data({ choices: [{ index: 0, delta: value, finish_reason: finish }] });
const fragment = (index: number, value: object) => delta({ tool_calls: [{ index, ...value }] });

function run(batches: SseEvent[][]): BackendChunk[] {
  const reader = new ChatEventReader();
  const out: BackendChunk[] = [];
  for (const batch of batches) out.push(...reader.read(batch));
  out.push(...reader.finish());
  return out;
}

describe(ChatEventReader.name, () => {
  it('assembles interleaved fragments of parallel calls by index, and hands them on whole at the finish_reason', () => {
    const chunks = run([
      [fragment(0, { id: 'call_a', type: 'function', function: { name: 'f', arguments: '' } }), fragment(1, { id: 'call_b', type: 'function', function: { name: 'g', arguments: '{"x"' } })],
      [fragment(0, { function: { arguments: '{"q":' } }), fragment(1, { function: { arguments: ':[1,2]}' } })],
      [fragment(0, { function: { arguments: '"é"}' } })],
      [delta({}, 'tool_calls'), data('[DONE]')],
    ]);
    expect(chunks).toEqual([
      { type: 'tool_call', call: { id: 'call_a', name: 'f', arguments: { q: 'é' } } },
      { type: 'tool_call', call: { id: 'call_b', name: 'g', arguments: { x: [1, 2] } } },
      { type: 'done', usage: { promptTokens: 0, completionTokens: 0 }, doneReason: 'tool_calls' },
    ]);
  });

  it('keeps a call open until it is complete: nothing is handed on before the finish_reason, [DONE] or the end', () => {
    const reader = new ChatEventReader();
    expect([...reader.read([fragment(0, { id: 'c', function: { name: 'f', arguments: '{}' } })])]).toEqual([]);
    expect([...reader.finish()]).toEqual([{ type: 'tool_call', call: { id: 'c', name: 'f', arguments: {} } }]);
    expect(reader.sawDone).toBe(false);
  });

  it('reads empty arguments as {}, and makes up an id when the server sent none', () => {
    const [chunk] = run([[fragment(0, { function: { name: 'now' } }), delta({}, 'tool_calls')]]);
    expect(chunk).toEqual({ type: 'tool_call', call: { id: expect.stringMatching(/^call_[0-9a-f]{8}$/), name: 'now', arguments: {} } });
  });

  it.each([
    ['not JSON', '{"a":', 'The OpenAI-compatible server sent tool call c (f) with arguments that are not a JSON object: {"a":'],
    ['an array', '[1]', 'The OpenAI-compatible server sent tool call c (f) with arguments that are not a JSON object: [1]'],
  ])('fails with a BackendError naming the call for arguments that are %s, after the text before them', (_what, args, message) => {
    const reader = new ChatEventReader();
    const out: BackendChunk[] = [];
    expect(() => {
      for (const chunk of reader.read([delta({ content: 'Let me look.' }), fragment(0, { id: 'c', function: { name: 'f', arguments: args } }), delta({}, 'tool_calls')])) out.push(chunk);
    }).toThrow(new BackendError(message));
    expect(out).toEqual([{ type: 'token', text: 'Let me look.' }]);
  });

  it('fails for a call without a function name', () => {
    expect(() => run([[fragment(2, { id: 'c9', function: { arguments: '{}' } }), delta({}, 'tool_calls')]])).toThrow(
      'The OpenAI-compatible server sent tool call c9 without a function name',
    );
  });

  it('joins reasoning and text of one read by kind, in order, reading one of reasoning_content and reasoning when both come', () => {
    expect(
      run([
        [delta({ reasoning: 'a ', reasoning_content: 'a ' }), delta({ reasoning: 'b' }), delta({ content: 'x' }), delta({ content: 'y' }), delta({ reasoning_content: 'c' })],
        [delta({}, 'stop'), data('[DONE]')],
      ]),
    ).toEqual([
      { type: 'thinking', text: 'a b' },
      { type: 'token', text: 'xy' },
      { type: 'thinking', text: 'c' },
      { type: 'done', usage: { promptTokens: 0, completionTokens: 0 }, doneReason: 'stop' },
    ]);
  });

  it('joins the logprobs of the tokens it joins', () => {
    const withLogprobs = (token: string, logprob: number) =>
      data({ choices: [{ index: 0, delta: { content: token }, logprobs: { content: [{ token, logprob, bytes: null, top_logprobs: [] }] }, finish_reason: null }] });
    expect(run([[withLogprobs('a', -1), withLogprobs('b', -2)]])).toEqual([
      {
        type: 'token',
        text: 'ab',
        logprobs: [
          { token: 'a', logprob: -1, bytes: null, topLogprobs: [] },
          { token: 'b', logprob: -2, bytes: null, topLogprobs: [] },
        ],
      },
    ]);
  });
});
