import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BackendsFileError, parseBackendsFile, readBackendsFile } from '../../src/config/backends-file';
import { ConfigError, loadConfig } from '../../src/config/app-config';
import { resolveAlias } from '../../src/config/routing-settings';

const SECRET = 'sk-live-0123456789secret';

/** The problems the file's error names, in order (the message joins them with "; "). */
function problems(yaml: string, env: NodeJS.ProcessEnv = {}): string[] {
  try {
    parseBackendsFile(yaml, '/etc/vega/backends.yaml', env);
  } catch (error) {
    expect(error).toBeInstanceOf(BackendsFileError);
    const message = (error as Error).message;
    expect(message).not.toContain(SECRET);
    const prefix = 'BACKENDS_FILE /etc/vega/backends.yaml is invalid: ';
    expect(message.startsWith(prefix)).toBe(true);
    return message.slice(prefix.length).split('; ');
  }
  throw new Error('the file was accepted');
}

describe('parseBackendsFile', () => {
  it('reads a complete file: targets with their defaults, keys from the file or the environment, timeouts in ms, aliases, fallbacks', () => {
    const file = parseBackendsFile(
      `
strategy: least-busy
targets:
  - name: gpu-1
    kind: ollama
    url: http://10.0.0.5:11434/
    weight: 3
    max_concurrency: 4
    timeouts: { total_sec: 120, first_token_sec: 30, idle_sec: 20 }
  - name: vllm
    kind: openai
    url: http://10.0.0.7:8000/v1
    api_key_env: VLLM_KEY
    models: [qwen2.5:32b]
  - name: cloud
    kind: openai
    url: https://api.example.com/v1
    api_key: ${SECRET}
aliases: { default: fast, fast: llama3.2, coder: qwen2.5:32b }
fallbacks: { llama3.3:70b: [qwen2.5:32b, llama3.2] }
`,
      'backends.yaml',
      { VLLM_KEY: 'from-env' },
    );
    expect(file).toEqual({
      strategy: 'least-busy',
      targets: [
        { name: 'gpu-1', kind: 'ollama', url: 'http://10.0.0.5:11434', weight: 3, maxConcurrency: 4, timeouts: { totalMs: 120_000, firstTokenMs: 30_000, idleMs: 20_000 } },
        { name: 'vllm', kind: 'openai', url: 'http://10.0.0.7:8000/v1', apiKey: 'from-env', weight: 1, maxConcurrency: 0, models: ['qwen2.5:32b'] },
        { name: 'cloud', kind: 'openai', url: 'https://api.example.com/v1', apiKey: SECRET, weight: 1, maxConcurrency: 0 },
      ],
      aliases: { default: 'fast', fast: 'llama3.2', coder: 'qwen2.5:32b' },
      fallbacks: { 'llama3.3:70b': ['qwen2.5:32b', 'llama3.2'] },
    });
    expect(resolveAlias(file.aliases, 'default')).toBe('llama3.2');
    expect(resolveAlias(file.aliases, 'coder')).toBe('qwen2.5:32b');
    expect(resolveAlias(file.aliases, 'mistral')).toBe('mistral');
  });

  it('names every problem of the schema at once, each by its path, never a value', () => {
    expect(
      problems(`
strategy: fastest
targets:
  - name: gpu 1
    kind: vllm
    url: ftp://10.0.0.5
    weight: -1
    max_concurrency: 1.5
    modles: [llama3.2]
    timeouts: { total_sec: 0, first_token: 3 }
  - kind: openai
    url: http://10.0.0.7:8000/v1
    api_key: 5
    models: llama3.2
aliases: { fast: 3 }
fallbacks: { llama3.3:70b: [] }
extra: true
`),
    ).toEqual([
      'strategy: must be one of loaded-first, least-busy, weighted, priority',
      'targets[0].name: must be 1-64 letters, digits, dots, colons, dashes or underscores',
      "targets[0].kind: must be 'ollama' or 'openai'",
      'targets[0].url: must be an http:// or https:// URL',
      'targets[0].weight: must be above 0',
      'targets[0].max_concurrency: must be an integer',
      'targets[0].timeouts.total_sec: must be a number of seconds above 0',
      'targets[0].timeouts.first_token: unknown key',
      'targets[0].modles: unknown key',
      'targets[1].name: must be a name',
      'targets[1].api_key: must be a string',
      'targets[1].models: must be a list of model names',
      'aliases.fast: must be a model name',
      'fallbacks.llama3.3:70b: must list at least one model',
      'extra: unknown key',
    ]);
  });

  it('names the problems between entries at once: duplicate names, keys where none belong or missing, looping aliases, a model its own fallback', () => {
    expect(
      problems(`
targets:
  - { name: gpu-1, kind: ollama, url: http://a:11434, api_key: ${SECRET} }
  - { name: gpu-1, kind: openai, url: http://b:8000/v1, api_key: ${SECRET}, api_key_env: B_KEY }
  - { name: c, kind: openai, url: http://c:8000/v1, api_key_env: C_KEY }
aliases: { a: b, b: c, c: a, fast: llama3.2 }
fallbacks: { llama3.2: [mistral, llama3.2] }
`),
    ).toEqual([
      'targets[0]: an ollama target takes no api key',
      "targets[1].name: 'gpu-1' is used by an earlier target",
      'targets[1]: give api_key or api_key_env, not both',
      'targets[2].api_key_env: C_KEY is not set',
      'aliases.a: loops (a → b → c → a)',
      'aliases.b: loops (b → c → a → b)',
      'aliases.c: loops (c → a → b → c)',
      'fallbacks.llama3.2: lists the model itself',
    ]);
  });

  it('refuses a file without targets, an empty one, and YAML that does not parse', () => {
    expect(problems('strategy: priority\n')).toEqual(['targets: must be a list of targets']);
    expect(problems('targets: []\n')).toEqual(['targets: must list at least one target']);
    expect(problems('')).toEqual(['targets: must be a list of targets']);
    expect(problems('- just\n- a list\n')).toEqual(['(top level): must be a mapping with targets']);
    expect(() => parseBackendsFile('targets: [ { name: a\n', 'b.yaml', {})).toThrow(/^BACKENDS_FILE b\.yaml is not valid YAML: /);
  });
});

describe('BACKENDS_FILE in the configuration', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'vega-backends-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const write = (yaml: string): string => {
    const path = join(dir, 'backends.yaml');
    writeFileSync(path, yaml);
    return path;
  };

  it('gives the targets, strategy, aliases and fallbacks (aliases resolved in them); the default alias is the model of a request naming none', () => {
    const path = write(
      'strategy: priority\ntargets:\n  - { name: a, kind: ollama, url: http://a:11434 }\naliases: { default: fast, fast: llama3.2 }\nfallbacks: { fast: [mistral], mistral: [default] }\n',
    );
    const config = loadConfig({ BACKENDS_FILE: path, MODEL_NAME: 'mistral' });
    expect(config.routing).toMatchObject({ strategy: 'priority', aliases: { default: 'fast', fast: 'llama3.2' }, file: path });
    // Requests are routed by model: aliases in the fallback chains are resolved on both sides.
    expect(config.routing.fallbacks).toEqual({ 'llama3.2': ['mistral'], mistral: ['llama3.2'] });
    expect(config.llm.model).toBe('llama3.2');
    // Without a default alias MODEL_NAME stays the model of a request naming none.
    expect(loadConfig({ BACKENDS_FILE: write('targets:\n  - { name: a, kind: ollama, url: http://a:11434 }\n'), MODEL_NAME: 'mistral' }).llm.model).toBe('mistral');
  });

  it('is a configuration error naming every problem, and the secret of none', () => {
    const path = write(`targets:\n  - { name: a, kind: openai, url: http://a/v1, api_key: ${SECRET}, wieght: 2 }\n  - { name: a, kind: ollama, url: http://b:11434 }\n`);
    const error = (() => {
      try {
        loadConfig({ BACKENDS_FILE: path });
      } catch (caught) {
        return caught as Error;
      }
      throw new Error('the file was accepted');
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toBe(`Invalid configuration: BACKENDS_FILE ${path} is invalid: targets[0].wieght: unknown key; targets[1].name: 'a' is used by an earlier target`);
    expect(error.message).not.toContain(SECRET);
  });

  it('a file that cannot be read is a configuration error naming it', () => {
    expect(() => loadConfig({ BACKENDS_FILE: join(dir, 'missing.yaml') })).toThrow(
      new ConfigError(`Invalid configuration: BACKENDS_FILE ${join(dir, 'missing.yaml')} cannot be read (ENOENT)`),
    );
    expect(() => readBackendsFile(dir, {})).toThrow(/cannot be read \(EISDIR\)/);
  });
});
