import { FakeOllama } from '../support/fake-ollama';
import { VegaProcess } from '../support/vega-process';

jest.setTimeout(60_000);

const EXTRA = ['extra-key-one-0123456789abcdef', 'extra-key-two-0123456789abcdef'];

/** `API_KEYS_EXTRA` keeps working as admin keys, and the real process says at start that it is deprecated. */
describe('API_KEYS_EXTRA (the real process)', () => {
  const fake = new FakeOllama({ models: ['mistral'] });
  const vega = new VegaProcess();

  beforeAll(() => fake.start());
  afterAll(async () => {
    await vega.dispose();
    await fake.stop();
  });

  it('warns at start, names no key, and the extra keys still hold every scope', async () => {
    await vega.start({ OLLAMA_URL: fake.url, LOG_LEVEL: 'info', HEALTH_PROBE_SECONDS: '60', API_KEYS_EXTRA: EXTRA.join(',') });
    const me = await fetch(`${vega.url}/me`, { headers: { 'x-api-key': EXTRA[1] } });
    expect(me.status).toBe(200);
    expect(await me.json()).toEqual({
      key_id: 'extra-2',
      name: 'extra-2',
      kind: 'bootstrap',
      scopes: ['chat', 'research', 'history:own', 'history:all', 'admin'],
      models: null,
      limits: {},
    });
    vega.signal('SIGTERM');
    await vega.exited();
    const lines = vega.stdout
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as { level: number; msg: string });
    expect(lines).toContainEqual(
      expect.objectContaining({
        level: 40,
        msg: 'API_KEYS_EXTRA is deprecated (2 key(s), each with every scope): create managed keys instead with "vega keys create" or POST /admin/keys, then remove API_KEYS_EXTRA',
      }),
    );
    for (const key of [...EXTRA, vega.apiKey]) expect(vega.stdout + vega.stderr).not.toContain(key);
  });

  it('says nothing of it when unset', async () => {
    const plain = new VegaProcess();
    try {
      await plain.start({ OLLAMA_URL: fake.url, LOG_LEVEL: 'info', HEALTH_PROBE_SECONDS: '60' });
      plain.signal('SIGTERM');
      await plain.exited();
      expect(plain.stdout).toMatch(/Vega is listening/);
      expect(plain.stdout).not.toContain('API_KEYS_EXTRA');
    } finally {
      await plain.dispose();
    }
  });
});
