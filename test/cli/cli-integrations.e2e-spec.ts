import { FAKE_WEBHOOK_TOKEN, FakeSlack } from '../support/fake-slack';
import { tempDir } from '../support/test-app';
import { ANSI, runVega } from '../support/cli';

jest.setTimeout(60_000);

describe('vega integrations test', () => {
  const slack = new FakeSlack();
  let data: ReturnType<typeof tempDir>;
  const vega = (args: string[], env: Record<string, string> = {}) =>
    runVega(['integrations', 'test', ...args], {
      env: {
        VEGA_DATA_DIR: data.dir,
        SLACK_WEBHOOK_URL: slack.webhookUrl,
        SLACK_ALLOW_ANY_URL: 'true',
        FETCH_ALLOW_HOSTS: slack.host,
        ...env,
      },
    });

  beforeAll(async () => {
    await slack.start();
  });
  afterAll(async () => {
    await slack.stop();
  });
  beforeEach(() => {
    data = tempDir('vega-cli-slack-');
    slack.reset();
  });
  afterEach(() => data.remove());

  it('posts the test message and says so, exit 0, plain when piped', async () => {
    const result = await vega([]);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(result.stdout).toBe('ok  Slack accepted the test message (HTTP 200)\n');
    expect(result.stdout).not.toMatch(ANSI);
    expect(slack.texts()).toEqual([expect.stringMatching(/test message \(sent from the CLI at .+\)\. The Slack integration works\.$/)]);
  });

  it('prints JSON with --json', async () => {
    const result = await vega(['--json']);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ ok: true, status: 200, text: slack.texts()[0] });
  });

  it("exits 1 with Slack's reason when Slack refuses, without the webhook URL", async () => {
    slack.enqueue({ status: 410, body: 'channel_is_archived' }, { status: 403, body: 'invalid_token' });
    const text = await vega([]);
    expect(text.code).toBe(1);
    expect(text.stderr).toBe('vega: Slack refused the message (HTTP 410): channel_is_archived\n');
    const json = await vega(['--json']);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toEqual({ ok: false, error: 'Slack refused the message (HTTP 403): invalid_token' });
    for (const output of [text.stdout, text.stderr, json.stdout, json.stderr]) expect(output).not.toContain(FAKE_WEBHOOK_TOKEN);
  });

  it('exits 2 when Slack is not configured, and on a usage error', async () => {
    const unset = await vega([], { SLACK_WEBHOOK_URL: '' });
    expect(unset.code).toBe(2);
    expect(unset.stderr).toBe('vega: Slack is not configured: set SLACK_WEBHOOK_URL to an incoming webhook URL\n');
    const extra = await vega(['now']);
    expect(extra.code).toBe(2);
    expect(extra.stderr).toMatch(/too many arguments/);
    const bare = await runVega(['integrations'], { env: { VEGA_DATA_DIR: data.dir } });
    expect(bare.code).toBe(2);
    expect(bare.stderr).toMatch(/vega integrations: give a command: test/);
    expect(slack.messages).toHaveLength(0);
  });

  it('refuses a webhook that is not Slack\'s at start (exit 1, one line, URL not echoed)', async () => {
    const result = await vega([], { SLACK_ALLOW_ANY_URL: '' });
    expect(result.code).toBe(1);
    expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(result.stderr).toContain('SLACK_WEBHOOK_URL must be a Slack incoming webhook');
    expect(result.stderr).not.toContain(FAKE_WEBHOOK_TOKEN);
    expect(slack.messages).toHaveLength(0);
  });
});
