import { EventSource } from 'eventsource';
import { queryDb } from '../support/sqlite';
import { TEST_API_KEY, TestApp, useAppWithFakeOllama } from '../support/test-app';

// The `eventsource` package, unmodified: the EventSource of Node apps. It reconnects after the
// stream ends, as the HTML spec says, sending Last-Event-ID; Vega's 204 must stop it for good.
describe('GET /chat/sse with the eventsource client', () => {
  const env = useAppWithFakeOllama(['mistral']);
  const fake = env.fake;
  let t: TestApp;

  interface Seen {
    types: string[];
    ids: string[];
    requests: { lastEventId: string | null; status: number }[];
    closedWith?: { code?: number; message?: string };
  }

  /** Opens an EventSource with the key on every request, and resolves once it has given up for good. */
  function follow(url: string): Promise<Seen> {
    const seen: Seen = { types: [], ids: [], requests: [] };
    return new Promise((resolve, reject) => {
      const deadline = setTimeout(() => {
        source.close();
        reject(new Error(`EventSource still open after 15 s: ${JSON.stringify(seen)}`));
      }, 15_000);
      const source = new EventSource(url, {
        fetch: async (input, init) => {
          const headers = new Headers(init?.headers);
          headers.set('x-api-key', TEST_API_KEY);
          const response = await fetch(input, { ...init, headers });
          seen.requests.push({ lastEventId: headers.get('last-event-id'), status: response.status });
          return response;
        },
      });
      const record = (type: string) => (event: MessageEvent) => {
        seen.types.push(type);
        seen.ids.push(event.lastEventId);
      };
      source.addEventListener('token', record('token'));
      source.addEventListener('done', record('done'));
      source.addEventListener('error', (event) => {
        // A server-sent `event: error` frame carries data; the client's own error event does not.
        if ('data' in event && typeof event.data === 'string') return record('error')(event as MessageEvent);
        if (source.readyState !== EventSource.CLOSED) return; // it will reconnect
        clearTimeout(deadline);
        seen.closedWith = { code: (event as { code?: number }).code, message: (event as { message?: string }).message };
        resolve(seen);
      });
    });
  }

  const statuses = async () => (await queryDb<{ status: string }>(t.dbPath, 'SELECT status FROM conversations ORDER BY id')).map((row) => row.status);

  it('stops reconnecting after done: the prompt runs once and one row is stored', async () => {
    t = await env.start();
    const seen = await follow(`${t.url}/chat/sse?prompt=${encodeURIComponent('one two three')}`);
    expect(seen.types.at(-1)).toBe('done');
    expect(seen.types.filter((type) => type === 'token').length).toBeGreaterThan(0);
    expect(seen.ids.at(-1)).toMatch(/^[0-9a-f]{16}:\d+:done$/);
    expect(seen.requests).toEqual([
      { lastEventId: null, status: 200 },
      { lastEventId: seen.ids.at(-1), status: 204 },
    ]);
    expect(seen.closedWith?.code).toBe(204);
    expect(fake.chatRequests()).toHaveLength(1);
    expect(await statuses()).toEqual(['ok']);
  });

  it('stops reconnecting after an error event: the failing prompt is not run again', async () => {
    t = await env.start({ LLM_MAX_RETRIES: '0' });
    fake.enqueue({ kind: 'status', status: 500, message: 'boom' });
    const seen = await follow(`${t.url}/chat/sse?prompt=fails`);
    expect(seen.types).toEqual(['error']);
    expect(seen.ids).toEqual([expect.stringMatching(/^[0-9a-f]{16}:1:error$/)]);
    expect(seen.requests.map((request) => request.status)).toEqual([200, 204]);
    expect(fake.chatRequests()).toHaveLength(1);
    expect(await statuses()).toEqual(['error']);
  });
});
