import { Ollama } from 'ollama';
import { FakeOllama } from '../support/fake-ollama';
import { ANSI, runVega } from '../support/cli';
import { startTestApp, tempDir, TEST_API_KEY } from '../support/test-app';

jest.setTimeout(60_000);

// `vega admin audit` reads the audit log the server wrote, from the same database file.
describe('vega admin audit', () => {
  const fake = new FakeOllama({ models: ['mistral'] });
  let data: ReturnType<typeof tempDir>;
  const vega = (args: string[]) => runVega(['admin', 'audit', ...args], { env: { VEGA_DATA_DIR: data.dir } });

  beforeAll(async () => {
    await fake.start();
    data = tempDir('vega-cli-audit-');
    const app = await startTestApp({ OLLAMA_URL: fake.url, VEGA_DATA_DIR: data.dir });
    try {
      const client = new Ollama({ host: app.url, headers: { Authorization: `Bearer ${TEST_API_KEY}` } });
      await client.copy({ source: 'mistral', destination: 'mistral-copy' });
      await client.delete({ model: 'mistral-copy' });
      await expect(client.delete({ model: 'ghost' })).rejects.toThrow("model 'ghost' not found");
    } finally {
      await app.close();
    }
  });
  afterAll(async () => {
    await fake.stop();
    data.remove();
  });

  it('prints the calls newest first as a table, plain when piped', async () => {
    const result = await vega([]);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(result.stdout).not.toMatch(ANSI);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ID\s+TIME \(UTC\)\s+KEY\s+ROUTE\s+MODELS\s+OUTCOME\s+STATUS\s+MS\s+DETAIL$/);
    expect(lines.slice(1)).toEqual([
      expect.stringMatching(/^ ?3\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\s+primary\s+DELETE \/api\/delete\s+ghost\s+error\s+404\s+\d+\s+model 'ghost' not found$/),
      expect.stringMatching(/^ ?2\s+.+\s+primary\s+DELETE \/api\/delete\s+mistral-copy\s+ok\s+200\s+\d+\s*$/),
      expect.stringMatching(/^ ?1\s+.+\s+primary\s+POST \/api\/copy\s+mistral → mistral-copy\s+ok\s+200\s+\d+\s*$/),
    ]);
  });

  it('prints the API’s JSON with --json, filtered and paged', async () => {
    const errors = await vega(['--outcome', 'error', '--json']);
    expect(errors.code).toBe(0);
    expect(JSON.parse(errors.stdout)).toEqual({
      items: [
        {
          id: 3,
          at: expect.stringMatching(/Z$/),
          key_id: 'primary',
          route: 'DELETE /api/delete',
          models: ['ghost'],
          outcome: 'error',
          status: 404,
          duration_ms: expect.any(Number),
          detail: "model 'ghost' not found",
        },
      ],
      next_cursor: null,
    });

    const first = JSON.parse((await vega(['--route', '/api/delete', '--limit', '1', '--json'])).stdout) as { items: { id: number }[]; next_cursor: string };
    expect(first.items.map((item) => item.id)).toEqual([3]);
    const second = JSON.parse((await vega(['--route', '/api/delete', '--cursor', first.next_cursor, '--json'])).stdout) as { items: { id: number }[]; next_cursor: null };
    expect(second).toEqual({ items: [expect.objectContaining({ id: 2 })], next_cursor: null });

    const none = await vega(['--since', '2999-01-01', '--json']);
    expect(JSON.parse(none.stdout)).toEqual({ items: [], next_cursor: null });
  });

  it('refuses a bad filter as a usage error (exit 2)', async () => {
    for (const args of [['--outcome', 'maybe'], ['--since', 'yesterday'], ['--limit', '0'], ['--route', 'pull']]) {
      const result = await vega(args);
      expect({ args, code: result.code }).toEqual({ args, code: 2 });
      expect(result.stderr).toMatch(/--(outcome|since|limit|route)/);
    }
  });
});
