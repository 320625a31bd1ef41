import { ConfigError, loadConfig } from '../../src/config/app-config';
import { ContextGuard, contextOf, estimatePromptTokens, IMAGE_TOKENS } from '../../src/core/llm/context-guard';
import type { BackendChatRequest } from '../../src/core/llm/llm-backend';
import { LlmMetrics } from '../../src/core/metrics/llm-metrics';

const request = (content: string, extra: Partial<BackendChatRequest> = {}): BackendChatRequest => ({
  model: 'mistral',
  messages: [{ role: 'user', content }],
  options: {},
  ...extra,
});

describe('estimatePromptTokens', () => {
  it('counts one token per 3 UTF-8 bytes, 4 per message and 3 for the reply', () => {
    expect(estimatePromptTokens(request('abcdef'))).toBe(3 + 4 + 2);
    // Three CJK characters are 9 bytes: one token each, as real tokenizers roughly make them.
    expect(estimatePromptTokens(request('日本語'))).toBe(3 + 4 + 3);
  });

  it('counts images at 768 tokens each, tool definitions and calls as their JSON', () => {
    const image = { mime: 'image/png', data: 'AAAA', bytes: 3, sha256: '00' };
    const withImages = request('', { messages: [{ role: 'user', content: '', images: [image, image] }] });
    expect(estimatePromptTokens(withImages)).toBe(3 + 4 + 2 * IMAGE_TOKENS);
    const tools = [{ name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } }];
    const json = JSON.stringify(tools);
    expect(estimatePromptTokens(request('', { tools }))).toBe(3 + 4 + Math.ceil(json.length / 3));
  });
});

describe('contextOf', () => {
  const details = { name: 'mistral', contextLength: 32_768 };

  it("prefers the request's num_ctx, then the Modelfile's, then the default, all capped by the trained length", () => {
    expect(contextOf({ num_ctx: 8192 }, details, 4096)).toEqual({ numCtx: 8192, source: 'options.num_ctx' });
    expect(contextOf({}, { ...details, numCtx: 2048 }, 4096)).toEqual({ numCtx: 2048, source: "the Modelfile's num_ctx" });
    expect(contextOf({}, details, 4096)).toEqual({ numCtx: 4096, source: 'CONTEXT_DEFAULT_NUM_CTX' });
    expect(contextOf({ num_ctx: 100_000 }, details, 4096)?.numCtx).toBe(32_768);
  });

  it('knows nothing when the backend says nothing about the model', () => {
    expect(contextOf({}, { name: 'mistral' }, 4096)).toBeUndefined();
  });
});

describe(ContextGuard.name, () => {
  it('counts and logs a prompt read as far fewer tokens than estimated, and not an honest count', () => {
    const metrics = new LlmMetrics('mistral');
    const warnings: string[] = [];
    const guard = new ContextGuard({ overflow: 'refuse', maxNumCtx: 32_768, defaultNumCtx: 4096 }, undefined, metrics, {
      warn: (message: unknown) => void warnings.push(String(message)),
    });
    const check = { request: request('abcde '.repeat(500)), model: 'mistral', estimate: 1007 };
    guard.afterAnswer(check, 700);
    expect(metrics.truncations.with('mistral').value).toBe(0);
    guard.afterAnswer(check, 120);
    expect(metrics.truncations.with('mistral').value).toBe(1);
    expect(warnings).toEqual([expect.stringMatching(/^mistral read 120 prompt tokens, far fewer than the ~1007 estimated/)]);
  });
});

describe('context settings', () => {
  it('defaults to refusing, with a 4096-token default context and raising up to 32768', () => {
    expect(loadConfig({}).context).toEqual({ overflow: 'refuse', defaultNumCtx: 4096, maxNumCtx: 32_768 });
  });

  it('rejects an unknown mode and a maximum below the default', () => {
    expect(() => loadConfig({ CONTEXT_OVERFLOW: 'truncate' })).toThrow(/CONTEXT_OVERFLOW must be 'refuse' or 'raise_num_ctx'/);
    expect(() => loadConfig({ CONTEXT_MAX_NUM_CTX: '2048' })).toThrow(ConfigError);
    expect(() => loadConfig({ CONTEXT_DEFAULT_NUM_CTX: '0' })).toThrow(/CONTEXT_DEFAULT_NUM_CTX must be an integer between 256/);
  });
});
