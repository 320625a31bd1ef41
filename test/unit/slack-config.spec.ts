import { ConfigError, loadConfig } from '../../src/config/app-config';

const WEBHOOK = 'https://hooks.slack.com/services/T00000000/B00000000/abcdefghijklmnopqrstuvwx';

describe('loadConfig: Slack', () => {
  it('is off by default, with a 300 s notification interval', () => {
    expect(loadConfig({}).slack).toEqual({ webhookUrl: undefined, notify: [], notifyIntervalMs: 300_000 });
  });

  it('reads a Slack webhook, the kinds to notify (deduplicated) and the interval', () => {
    const config = loadConfig({ SLACK_WEBHOOK_URL: WEBHOOK, SLACK_NOTIFY: 'breaker, backend,breaker', SLACK_NOTIFY_INTERVAL_SEC: '30' });
    expect(config.slack).toEqual({ webhookUrl: WEBHOOK, notify: ['breaker', 'backend'], notifyIntervalMs: 30_000 });
  });

  it('accepts any http(s) webhook with SLACK_ALLOW_ANY_URL=true (tests, a relay)', () => {
    expect(loadConfig({ SLACK_WEBHOOK_URL: 'http://127.0.0.1:9/hook', SLACK_ALLOW_ANY_URL: 'true' }).slack.webhookUrl).toBe('http://127.0.0.1:9/hook');
  });

  it.each([
    ['http://hooks.slack.com/services/T0/B0/x'],
    ['https://hooks.slack.com.evil.test/services/T0/B0/x'],
    ['https://example.com/services/T0/B0/x'],
    ['https://hooks.slack.com/?token=B0/x'],
    ['https://hooks.slack.com:8443/services/T0/B0/x'],
  ])('refuses %s at start, without echoing it', (url) => {
    const attempt = () => loadConfig({ SLACK_WEBHOOK_URL: url });
    expect(attempt).toThrow(ConfigError);
    expect(attempt).toThrow('SLACK_WEBHOOK_URL must be a Slack incoming webhook (https://hooks.slack.com/services/…); SLACK_ALLOW_ANY_URL=true lifts this');
    expect(attempt).not.toThrow('B0/x');
  });

  it.each([
    [{ SLACK_WEBHOOK_URL: 'not a url/secret-token' }, 'SLACK_WEBHOOK_URL must be an http:// or https:// URL', 'secret-token'],
    [{ SLACK_WEBHOOK_URL: 'ftp://hooks.slack.com/secret-token', SLACK_ALLOW_ANY_URL: 'true' }, 'SLACK_WEBHOOK_URL must be an http:// or https:// URL', 'secret-token'],
    [{ SLACK_WEBHOOK_URL: WEBHOOK, SLACK_NOTIFY: 'breaker,disk' }, 'SLACK_NOTIFY must be a comma list of breaker, backend', 'abcdefghij'],
    [{ SLACK_NOTIFY: 'breaker' }, 'SLACK_NOTIFY needs SLACK_WEBHOOK_URL to be set', '(got'],
    [{ SLACK_WEBHOOK_URL: WEBHOOK, SLACK_NOTIFY_INTERVAL_SEC: '0' }, 'SLACK_NOTIFY_INTERVAL_SEC must be a number between 1 and 86400', 'abcdefghij'],
    [{ SLACK_ALLOW_ANY_URL: 'maybe' }, 'SLACK_ALLOW_ANY_URL must be true or false', 'abcdefghij'],
  ])('refuses %j with a clear line that does not repeat the webhook', (env, message, hidden) => {
    let error: unknown;
    try {
      loadConfig(env);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toContain(message);
    expect((error as Error).message).not.toContain(hidden);
  });
});
