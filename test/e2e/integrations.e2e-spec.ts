import { FakeOllama } from '../support/fake-ollama';
import { FAKE_WEBHOOK_TOKEN, FakeSlack } from '../support/fake-slack';
import { freePort, VegaProcess } from '../support/vega-process';
import { TestApp, startTestApp, useAppWithFakeOllama } from '../support/test-app';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('Slack integration', () => {
  const env = useAppWithFakeOllama(['mistral']);
  const fake = env.fake;
  const slack = new FakeSlack();
  let t: TestApp;

  beforeAll(async () => {
    await slack.start();
  });
  afterAll(async () => {
    await slack.stop();
  });
  beforeEach(() => slack.reset());

  /** The fake webhook on loopback: allowed by SLACK_ALLOW_ANY_URL, and reachable through FETCH_ALLOW_HOSTS only. */
  const slackEnv = (vars: Record<string, string> = {}) => ({
    SLACK_WEBHOOK_URL: slack.webhookUrl,
    SLACK_ALLOW_ANY_URL: 'true',
    FETCH_ALLOW_HOSTS: slack.host,
    RATE_LIMIT_PER_MINUTE: '0',
    ...vars,
  });
  const chat = (prompt = 'hi') => t.request('/chat', { body: { prompt } });

  describe('POST /integrations/test', () => {
    it('posts a test message as Slack JSON and answers { ok, status }', async () => {
      t = await env.start(slackEnv());
      const res = await t.request('/integrations/test', { method: 'POST' });
      expect(res.status).toBe(200);
      const body = await res.json();
      expect(body).toEqual({ ok: true, status: 200, text: expect.stringContaining('test message') });
      expect(slack.messages).toHaveLength(1);
      expect(slack.messages[0]).toMatchObject({
        path: `/services/T0000TEST/B0000TEST/${FAKE_WEBHOOK_TOKEN}`,
        contentType: 'application/json; charset=utf-8',
        body: { text: body.text },
      });
      expect(Object.keys(slack.messages[0].body)).toEqual(['text']);
    });

    it('answers 400 naming SLACK_WEBHOOK_URL when Slack is not configured', async () => {
      t = await env.start({ FETCH_ALLOW_HOSTS: slack.host });
      const res = await t.request('/integrations/test', { method: 'POST' });
      expect(res.status).toBe(400);
      expect(await res.json()).toEqual({
        statusCode: 400,
        error: 'Bad Request',
        message: 'Slack is not configured: set SLACK_WEBHOOK_URL to an incoming webhook URL',
      });
      expect(slack.messages).toHaveLength(0);
    });

    it.each([
      [400, 'invalid_payload'],
      [403, 'invalid_token'],
      [404, 'no_service'],
      [410, 'channel_is_archived'],
      [500, 'rollup_error'],
    ])("maps Slack's %i %s to a 502 with Slack's reason, never the webhook URL", async (status, reason) => {
      t = await env.start(slackEnv());
      slack.enqueue({ status, body: reason });
      const res = await t.request('/integrations/test', { method: 'POST' });
      const text = await res.text();
      expect(res.status).toBe(502);
      expect(JSON.parse(text)).toEqual({ statusCode: 502, error: 'Bad Gateway', message: `Slack refused the message (HTTP ${status}): ${reason}` });
      expect(text).not.toContain(FAKE_WEBHOOK_TOKEN);
    });

    it('answers 502 without the URL when the webhook cannot be reached', async () => {
      const port = await freePort();
      const url = `http://127.0.0.1:${port}/services/T0/B0/${FAKE_WEBHOOK_TOKEN}`;
      t = await env.start(slackEnv({ SLACK_WEBHOOK_URL: url, FETCH_ALLOW_HOSTS: `127.0.0.1:${port}` }));
      const res = await t.request('/integrations/test', { method: 'POST' });
      const body = await res.json();
      expect(res.status).toBe(502);
      expect(body.message).toBe(`Could not fetch http://127.0.0.1:${port}/…: connection refused`);
    });

    it('keeps the SSRF guard: a loopback webhook not in FETCH_ALLOW_HOSTS is refused before any packet', async () => {
      t = await env.start(slackEnv({ FETCH_ALLOW_HOSTS: '' }));
      const res = await t.request('/integrations/test', { method: 'POST' });
      const body = await res.json();
      expect(res.status).toBe(400);
      expect(body.message).toMatch(/^Refused to fetch http:\/\/127\.0\.0\.1:\d+\/…: 127\.0\.0\.1 is a loopback address/);
      expect(body.message).not.toContain(FAKE_WEBHOOK_TOKEN);
      expect(slack.messages).toHaveLength(0);
    });

    it('needs the API key', async () => {
      t = await env.start(slackEnv());
      expect((await t.request('/integrations/test', { method: 'POST', key: null })).status).toBe(401);
      expect(slack.messages).toHaveLength(0);
    });
  });

  it('GET /admin/status redacts the webhook URL', async () => {
    t = await env.start(slackEnv({ SLACK_NOTIFY: 'breaker' }));
    const res = await t.request('/admin/status');
    const text = await res.text();
    expect(JSON.parse(text).config.slack).toEqual({ webhookUrl: '[redacted]', notify: ['breaker'], notifyIntervalMs: 300_000 });
    expect(text).not.toContain(FAKE_WEBHOOK_TOKEN);
  });

  describe('notifications (SLACK_NOTIFY)', () => {
    it('announces the breaker opening at once, then holds changes back and sums them up once per interval', async () => {
      t = await env.start(
        slackEnv({
          SLACK_NOTIFY: 'breaker',
          SLACK_NOTIFY_INTERVAL_SEC: '1',
          BREAKER_FAIL_THRESHOLD: '1',
          BREAKER_RESET_SECONDS: '0.2',
          LLM_MAX_RETRIES: '0',
          CACHE_TTL_SECONDS: '0',
        }),
      );
      fake.enqueue({ kind: 'status', status: 500 });
      expect((await chat()).status).toBe(502);
      const [opened] = await slack.waitFor(1);
      expect(opened.body.text).toMatch(/the circuit breaker opened/);
      // Inside the interval: closed (a good probe), open again (a failure), closed again.
      await sleep(250);
      expect((await chat()).status).toBe(200);
      fake.enqueue({ kind: 'status', status: 500 });
      expect((await chat()).status).toBe(502);
      await sleep(250);
      expect((await chat()).status).toBe(200);
      expect(slack.messages).toHaveLength(1);
      const [, summary] = await slack.waitFor(2, 3_000);
      expect(summary.receivedAt - opened.receivedAt).toBeGreaterThanOrEqual(950);
      expect(summary.body.text).toMatch(/the circuit breaker closed/);
      expect(summary.body.text).toContain('3 changes in the last 1 s, held back to keep this channel quiet: closed → open → closed');
      await sleep(1_200);
      expect(slack.messages).toHaveLength(2);
    });

    it('says nothing while the breaker only retries its probe', async () => {
      t = await env.start(
        slackEnv({ SLACK_NOTIFY: 'breaker', SLACK_NOTIFY_INTERVAL_SEC: '1', BREAKER_FAIL_THRESHOLD: '1', BREAKER_RESET_SECONDS: '0.1', LLM_MAX_RETRIES: '0' }),
      );
      fake.setDefaultFault({ kind: 'status', status: 500 });
      for (let i = 0; i < 3; i += 1) {
        expect((await chat(`p${i}`)).status).toBe(502); // each one a failed half-open probe
        await sleep(150);
      }
      await sleep(1_100);
      expect(slack.texts()).toEqual([expect.stringMatching(/circuit breaker opened/)]);
    });

    it('announces the model backend going down and coming back, from the background probe', async () => {
      const port = await freePort();
      const ollama = new FakeOllama({ models: ['mistral'] });
      await ollama.start(port);
      try {
        t = await startTestApp(
          slackEnv({ OLLAMA_URL: ollama.url, SLACK_NOTIFY: 'backend', SLACK_NOTIFY_INTERVAL_SEC: '1', HEALTH_PROBE_SECONDS: '0.1' }),
        );
        await sleep(300);
        expect(slack.messages).toHaveLength(0); // up at start: nothing to say
        await ollama.stop();
        const [down] = await slack.waitFor(1);
        // A probe that races the server's shutdown sees a reset connection rather than a refused one.
        expect(down.body.text).toMatch(
          /the model backend 127\.0\.0\.1:\d+ \(ollama\) is down: Ollama is unreachable at http:\/\/127\.0\.0\.1:\d+ \(connection (refused|reset)\)/,
        );
        await ollama.start(port);
        const [, up] = await slack.waitFor(2, 3_000);
        expect(up.body.text).toMatch(/the model backend 127\.0\.0\.1:\d+ \(ollama 0\.12\.6\) is back up/);
        expect(up.body.text).toContain('1 change in the last 1 s');
      } finally {
        await t.close();
        await ollama.stop();
      }
    });

    it('keeps notifying after Slack refused a message, and chat never waits for Slack', async () => {
      t = await env.start(
        slackEnv({
          SLACK_NOTIFY: 'breaker,backend',
          SLACK_NOTIFY_INTERVAL_SEC: '1',
          BREAKER_FAIL_THRESHOLD: '1',
          BREAKER_RESET_SECONDS: '60',
          LLM_MAX_RETRIES: '0',
        }),
      );
      slack.enqueue({ status: 500, body: 'rollup_error' });
      fake.enqueue({ kind: 'status', status: 500 });
      expect((await chat()).status).toBe(502);
      await slack.waitFor(1);
      expect((await t.request('/admin/breaker/reset', { method: 'POST' })).status).toBe(200);
      await slack.waitFor(2, 3_000);
      expect((await chat()).status).toBe(200);
      expect(slack.texts()).toEqual([expect.stringMatching(/breaker opened/), expect.stringMatching(/breaker closed/)]);
    });
  });
});

describe('Slack integration: logs of the real process', () => {
  const fake = new FakeOllama({ models: ['mistral'] });
  const slack = new FakeSlack();
  const vega = new VegaProcess();

  beforeAll(async () => {
    await Promise.all([fake.start(), slack.start()]);
  });
  afterAll(async () => {
    await vega.dispose();
    await Promise.all([fake.stop(), slack.stop()]);
  });

  it('never writes the webhook URL, at LOG_LEVEL=debug, whether Slack accepts or refuses', async () => {
    await vega.start({
      OLLAMA_URL: fake.url,
      LOG_LEVEL: 'debug',
      SLACK_WEBHOOK_URL: slack.webhookUrl,
      SLACK_ALLOW_ANY_URL: 'true',
      FETCH_ALLOW_HOSTS: slack.host,
      SLACK_NOTIFY: 'breaker',
      BREAKER_FAIL_THRESHOLD: '1',
      LLM_MAX_RETRIES: '0',
      HEALTH_PROBE_SECONDS: '60',
    });
    const post = (path: string, body?: unknown) =>
      fetch(`${vega.url}${path}`, {
        method: 'POST',
        headers: { 'x-api-key': vega.apiKey, ...(body ? { 'content-type': 'application/json' } : {}) },
        body: body ? JSON.stringify(body) : undefined,
      });
    expect((await post('/integrations/test')).status).toBe(200);
    slack.enqueue({ status: 403, body: 'invalid_token' }, { status: 404, body: 'no_service' });
    expect((await post('/integrations/test')).status).toBe(502);
    fake.enqueue({ kind: 'status', status: 500 });
    expect((await post('/chat', { prompt: 'hi' })).status).toBe(502);
    await slack.waitFor(3);
    await sleep(300); // the failure's log line is flushed within 200 ms
    vega.signal('SIGTERM');
    expect((await vega.exited()).code).toBe(0);
    expect(vega.stdout).toContain('Slack notification failed');
    expect(vega.stdout).toContain('no_service');
    expect(vega.stdout + vega.stderr).not.toContain(FAKE_WEBHOOK_TOKEN);
    expect(vega.stdout + vega.stderr).not.toContain('/services/T0000TEST');
  });
});
