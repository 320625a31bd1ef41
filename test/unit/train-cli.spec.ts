import { parametersFrom, parseParam } from '../../src/cli/commands/train.commands';
import { parseCommandLine } from '../../src/cli/invocation';
import { fullModelName } from '../../src/modules/training/model-registration.service';

describe('vega train on the command line', () => {
  it('runs by itself with its options, and runs its register subcommand', () => {
    expect(parseCommandLine(['train', '--config', 'training/config.yaml']).invocation).toEqual({ kind: 'run', path: ['train'], argv: ['train', '--config', 'training/config.yaml'] });
    expect(parseCommandLine(['train', 'register', '--adapter', 'a.gguf']).invocation).toEqual({ kind: 'run', path: ['train', 'register'], argv: ['train', 'register', '--adapter', 'a.gguf'] });
    expect(parseCommandLine(['train', 'regster']).invocation).toMatchObject({ kind: 'usage', message: expect.stringContaining("did you mean 'register'") });
  });
});

describe(parametersFrom.name, () => {
  it.each([
    [[['temperature', '0.7']], { temperature: 0.7 }],
    [[['num_ctx', '4096'], ['seed', '-1']], { num_ctx: 4096, seed: -1 }],
    [[['penalize_newline', 'false'], ['use_mmap', 'true']], { penalize_newline: false, use_mmap: true }],
    [[['stop', '<|im_end|>']], { stop: ['<|im_end|>'] }],
    [[['stop', 'a'], ['stop', 'b']], { stop: ['a', 'b'] }],
    [[['mirostat_tau', '5e-1'], ['note', '1.2.3']], { mirostat_tau: 0.5, note: '1.2.3' }],
  ] as [[string, string][], Record<string, unknown>][])('%j → %j', (pairs, expected) => {
    expect(parametersFrom(pairs)).toEqual(expected);
  });

  it('collects --param values and refuses a value without a name', () => {
    expect(parseParam('stop=a=b', parseParam('temperature=0'))).toEqual([['temperature', '0'], ['stop', 'a=b']]);
    expect(() => parseParam('Temperature=1')).toThrow('--param must look like name=value');
    expect(() => parseParam('=1')).toThrow('--param must look like name=value');
  });
});

describe(fullModelName.name, () => {
  it.each([
    ['vega-tuned', 'vega-tuned:latest'],
    ['vega-tuned:v2', 'vega-tuned:v2'],
    ['registry.local:5000/team/bot', 'registry.local:5000/team/bot:latest'],
  ])('%s → %s', (name, full) => expect(fullModelName(name)).toBe(full));
});
