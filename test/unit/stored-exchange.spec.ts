import { maskPii } from '../../src/common/pii/pii-masker';
import {
  storablePair,
  storedAnswer,
  storedCompletionRequest,
  storedEmbeddingAnswer,
  storedEmbeddingRequest,
  toolSearchText,
} from '../../src/core/persistence/stored-exchange';

describe('stored-exchange', () => {
  describe(storedAnswer.name, () => {
    it('keeps text, thinking, tool calls and the finish reason, never the logprobs', () => {
      const answer = storedAnswer({
        response: 'ok',
        thinking: 'hmm',
        toolCalls: [{ id: 'call_1', name: 'f', arguments: { a: 1 } }],
        finishReason: 'tool_calls',
        logprobs: [{ token: 'ok', logprob: -0.1 }],
      } as Parameters<typeof storedAnswer>[0]);
      expect(answer).toEqual({ text: 'ok', thinking: 'hmm', toolCalls: [{ id: 'call_1', name: 'f', arguments: { a: 1 } }], finishReason: 'tool_calls' });
    });
  });

  describe('embedding calls', () => {
    it('store the inputs and the count and length of the vectors, not the vectors', () => {
      expect(storedEmbeddingRequest({ model: 'nomic-embed-text', input: ['a', 'b'], dimensions: 4 })).toEqual({ model: 'nomic-embed-text', input: ['a', 'b'], dimensions: 4 });
      expect(storedEmbeddingAnswer({ embeddings: [[0.1, 0.2, 0.3, 0.4], [0.5, 0.6, 0.7, 0.8]] })).toEqual({ inputs: 2, dimensions: 4 });
      expect(storedEmbeddingAnswer({ embeddings: [] })).toEqual({ inputs: 0 });
    });
  });

  describe(storedCompletionRequest.name, () => {
    it('keeps the prompt, the suffix and the settings that were set', () => {
      expect(storedCompletionRequest({ model: 'm', prompt: 'def f(', suffix: '\n  return x', options: { num_predict: 8 }, think: false })).toEqual({
        model: 'm',
        prompt: 'def f(',
        suffix: '\n  return x',
        options: { num_predict: 8 },
        think: false,
      });
    });
  });

  describe(storablePair.name, () => {
    it('masks completion prompts, suffixes and embedding inputs too', () => {
      const { request } = storablePair({ model: 'm', prompt: 'to a@b.example', suffix: 'cc a@b.example', input: ['x a@b.example'] }, undefined, maskPii, false);
      expect(request).toEqual({ model: 'm', prompt: 'to [EMAIL]', suffix: 'cc [EMAIL]', input: ['x [EMAIL]'] });
    });

    it('masks strings in tool-call arguments at any depth and leaves numbers, booleans and keys alone', () => {
      const { answer } = storablePair(
        undefined,
        { text: '', toolCalls: [{ id: 'c', name: 'send', arguments: { 'a@b.example': [{ to: 'a@b.example', n: 1, ok: true, none: null }] } }] },
        maskPii,
        false,
      );
      expect(answer?.toolCalls?.[0].arguments).toEqual({ 'a@b.example': [{ to: '[EMAIL]', n: 1, ok: true, none: null }] });
    });
  });

  describe(toolSearchText.name, () => {
    it('lists tool names offered, called and answered, and argument values; null without tools', () => {
      const text = toolSearchText(
        {
          model: 'm',
          messages: [
            { role: 'assistant', content: '', toolCalls: [{ id: '1', name: 'lookup', arguments: { q: 'tides', at: { day: 3 } } }] },
            { role: 'tool', content: 'high at 6', toolName: 'lookup' },
          ],
          tools: [{ name: 'lookup' }, { name: 'book' }],
        },
        { toolCalls: [{ id: '2', name: 'book', arguments: { city: 'Brest', flags: [true] } }] },
      );
      expect(text?.split('\n')).toEqual(['lookup', 'book', 'lookup', 'tides', '3', 'lookup', 'book', 'Brest', 'true']);
      expect(toolSearchText({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }, { text: 'hello' })).toBeNull();
    });
  });
});
