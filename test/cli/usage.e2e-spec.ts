import { ANSI, runVega } from '../support/cli';
import { execDb } from '../support/seed';
import { startTestApp, tempDir } from '../support/test-app';

jest.setTimeout(60_000);

// `vega usage` reports from the database file a server wrote (migrations applied by its start).
describe('vega usage', () => {
  let data: ReturnType<typeof tempDir>;
  const vega = (args: string[]) => runVega(['usage', ...args], { env: { VEGA_DATA_DIR: data.dir } });

  beforeAll(async () => {
    data = tempDir('vega-cli-usage-');
    const app = await startTestApp({ VEGA_DATA_DIR: data.dir, OLLAMA_URL: 'http://127.0.0.1:9' });
    try {
      await execDb(
        app.dbPath,
        `INSERT INTO api_keys (id, name, secret_hash, prefix, scopes, limits, created_at, updated_at) VALUES ('k_team', 'team, "north"', 'h', 'vk-abcdefg', '["chat"]', '{}', '2026-01-01', '2026-01-01')`,
      );
      const rows: [string, string | null, string, string, number, number, number | null][] = [
        ['2026-11-01 09:00:00.000', 'primary', 'mistral', 'ok', 1200, 40, 100],
        ['2026-11-01 10:00:00.000', 'k_team', 'mistral', 'error', 300, 0, 200],
        ['2026-11-02 10:00:00.000', 'k_team', 'llama3.2', 'ok', 50, 25, 300],
        ['2026-11-02 11:00:00.000', null, 'mistral', 'ok', 10, 10, null],
      ];
      for (const [ts, key, model, status, prompt, completion, ms] of rows) {
        await execDb(
          app.dbPath,
          `INSERT INTO conversations (ts, prompt, response, source, model, status, prompt_tokens, completion_tokens, duration_ms, model_ms, key_id)
           VALUES (?, 'p', 'r', 'api', ?, ?, ?, ?, ?, ?, ?)`,
          [ts, model, status, prompt, completion, ms, ms === null ? null : ms * 10, key],
        );
      }
    } finally {
      await app.app.close();
    }
  });
  afterAll(() => data.remove());

  it('prints a table by key with a TOTAL line, plain when piped', async () => {
    const result = await vega(['--from', '2026-11-01', '--to', '2026-11-02']);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(result.stdout).not.toMatch(ANSI);
    expect(result.stdout.trimEnd().split('\n')).toEqual([
      expect.stringMatching(/^KEY\s+REQUESTS\s+PROMPT\s+COMPLETION\s+TOKENS\s+MODEL S\s+ERRORS\s+P50 MS\s+P95 MS$/),
      expect.stringMatching(/^primary\s+1\s+1,200\s+40\s+1,240\s+1\.0\s+0\s+\d+\s+\d+$/),
      expect.stringMatching(/^team, "north"\s+2\s+350\s+25\s+375\s+5\.0\s+1\s+\d+\s+\d+$/),
      expect.stringMatching(/^\(no key\)\s+1\s+10\s+10\s+20\s+0\.0\s+0\s+-\s+-$/),
      expect.stringMatching(/^TOTAL\s+4\s+1,560\s+75\s+1,635\s+6\.0\s+1\s+\d+\s+\d+$/),
    ]);
  });

  it('prints the API’s JSON with --json', async () => {
    const result = await vega(['--from', '2026-11-01', '--to', '2026-11-01T23:59:59Z', '--by', 'day,model', '--json']);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({
      from: '2026-11-01T00:00:00.000Z',
      to: '2026-11-01T23:59:59.000Z',
      group_by: ['day', 'model'],
      groups: [{ day: '2026-11-01', model: 'mistral', requests: 2, prompt_tokens: 1500, completion_tokens: 40, tokens: 1540, model_seconds: 3, errors: 1, p50_ms: expect.any(Number), p95_ms: expect.any(Number) }],
      totals: { requests: 2, prompt_tokens: 1500, completion_tokens: 40, tokens: 1540, model_seconds: 3, errors: 1, p50_ms: expect.any(Number), p95_ms: expect.any(Number) },
    });
  });

  it('prints CSV with --csv, quoting what needs it', async () => {
    const result = await vega(['--from', '2026-11-01', '--to', '2026-11-02', '--by', 'key,model', '--csv']);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    // Durations are read from the report's histogram (within ±11 %): matched as numbers here.
    expect(result.stdout.split('\r\n')).toEqual([
      'key_id,key_name,model,requests,prompt_tokens,completion_tokens,tokens,model_seconds,errors,p50_ms,p95_ms',
      expect.stringMatching(/^primary,primary,mistral,1,1200,40,1240,1,0,\d+,\d+$/),
      expect.stringMatching(/^k_team,"team, ""north""",llama3\.2,1,50,25,75,3,0,\d+,\d+$/),
      expect.stringMatching(/^k_team,"team, ""north""",mistral,1,300,0,300,2,1,\d+,\d+$/),
      ',,mistral,1,10,10,20,0,0,,',
      '',
    ]);
  });

  it('refuses bad options as a usage error (exit 2)', async () => {
    for (const [args, message] of [
      [['--by', 'user'], /--by must be one or two of key, model, day, lane/],
      [['--by', 'day,day'], /--by must be one or two/],
      [['--from', 'yesterday'], /--from must be an ISO 8601 date/],
      [['--to', '2026-02-30x'], /--to must be an ISO 8601 date/],
      [['--from', '2026-11-05', '--to', '2026-11-01'], /from must be before to/],
    ] as [string[], RegExp][]) {
      const result = await vega(args);
      expect({ args, code: result.code }).toEqual({ args, code: 2 });
      expect(result.stderr).toMatch(message);
    }
  });
});
