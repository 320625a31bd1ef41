import { eventually } from './eventually';
import type { FakeOllama } from './fake-ollama';
import { queryDb } from './sqlite';
import { tempDir, type TestApp, type TestKey } from './test-app';

/**
 * What two Vega instances on one Redis must share, written once for a single node and a cluster
 * (`redis.e2e-spec`, `redis-cluster.e2e-spec`): each takes the spec's `pair` (two instances on one
 * key space, the scoped key `key` on both) and checks one behaviour end to end.
 */
export type Pair = (key: TestKey, env?: Record<string, string>) => Promise<[TestApp, TestApp]>;

export const chatAs = (app: TestApp, key: string, prompt: string, maxTokens = 20) =>
  app.request('/v1/chat/completions', { key, body: { model: 'mistral', messages: [{ role: 'user', content: prompt }], max_tokens: maxTokens } });

const storedTokens = async (app: TestApp) =>
  (await queryDb<{ tokens: number | null }>(app.dbPath, 'SELECT SUM(COALESCE(prompt_tokens, 0) + COALESCE(completion_tokens, 0)) AS tokens FROM conversations', []))[0]!.tokens ?? 0;

/** A limit of 4 requests a minute admits 4 over both instances, not 4 each. Returns the pair. */
export async function expectRateLimitShared(pair: Pair, key: string): Promise<[TestApp, TestApp]> {
  const [a, b] = await pair({ scopes: ['chat'], limits: { requestsPerMinute: 4 } });
  const statuses: number[] = [];
  for (let i = 0; i < 3; i += 1) statuses.push((await a.request('/v1/models', { key })).status, (await b.request('/v1/models', { key })).status);
  expect(statuses.filter((status) => status === 200)).toHaveLength(4);
  expect(statuses.filter((status) => status === 429)).toHaveLength(2);
  return [a, b];
}

/** 30 calls raced over both instances against a day budget of 200 tokens: overrun at most one call's estimate (30). */
export async function expectDayBudgetShared(pair: Pair, key: string, fake: FakeOllama, limits: Extract<TestKey, { limits?: unknown }>['limits'] = {}): Promise<[TestApp, TestApp]> {
  const budget = 200;
  const estimate = 30;
  fake.setDefaultFault({ kind: 'reply', text: 'a b c d e', promptEvalCount: 10, evalCount: 20 });
  const [a, b] = await pair({ scopes: ['chat'], limits: { tokensPerDay: budget, ...limits } });
  const results = await Promise.all(Array.from({ length: 30 }, (_, index) => chatAs(index % 2 === 0 ? a : b, key, `racing ${index}`)));
  const statuses = results.map((res) => res.status);
  await Promise.all(results.map((res) => res.text()));
  expect(statuses.every((status) => status === 200 || status === 429)).toBe(true);
  const used = (await storedTokens(a)) + (await storedTokens(b));
  expect(used).toBeGreaterThanOrEqual(budget);
  expect(used).toBeLessThanOrEqual(budget + estimate);
  return [a, b];
}

/** A key revoked on one instance is refused on the other within 1 s (its cache emptied, not left to expire). */
export async function expectRevocationPushed(pair: Pair): Promise<[TestApp, TestApp]> {
  const data = tempDir();
  try {
    const [a, b] = await pair({ scopes: ['chat'] }, { VEGA_DATA_DIR: data.dir });
    const created = await (await a.request('/admin/keys', { method: 'POST', body: { name: 'shared', scopes: ['chat'] } })).json();
    expect((await b.request('/v1/models', { key: created.secret })).status).toBe(200); // cached on B now
    expect((await a.request(`/admin/keys/${created.id}/revoke`, { method: 'POST' })).status).toBe(200);
    const started = Date.now();
    const status = await eventually(async () => (await b.request('/v1/models', { key: created.secret })).status, (code) => code === 401, 1_000, 10);
    expect(status).toBe(401);
    expect(Date.now() - started).toBeLessThan(1_000);
    return [a, b];
  } finally {
    data.remove();
  }
}
