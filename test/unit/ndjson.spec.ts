import { MalformedLineError, NdjsonDecoder, ndjson } from '../../src/core/llm/ndjson';
import { ollamaTokenLine } from '../../src/core/llm/ollama.backend';

async function collect(chunks: (string | Buffer)[]): Promise<unknown[]> {
  async function* source() {
    for (const chunk of chunks) yield chunk;
  }
  const out: unknown[] = [];
  for await (const value of ndjson(source())) out.push(value);
  return out;
}

describe('ndjson', () => {
  it('parses one object per line, across chunk boundaries', async () => {
    expect(await collect(['{"a":1}\n{"b"', ':2}\n', '\n{"c":3}'])).toEqual([{ a: 1 }, { b: 2 }, { c: 3 }]);
  });

  it('reassembles multi-byte characters split between chunks', async () => {
    const bytes = Buffer.from('{"t":"héllo 👋"}\n');
    const cut = bytes.indexOf(0xf0) + 2; // inside the emoji's 4 bytes
    expect(await collect([bytes.subarray(0, cut), bytes.subarray(cut)])).toEqual([{ t: 'héllo 👋' }]);
  });

  it('raises MalformedLineError on a line that is not JSON', async () => {
    await expect(collect(['{"a":1}\nnot json\n'])).rejects.toBeInstanceOf(MalformedLineError);
  });
});

describe('NdjsonDecoder with a shortcut', () => {
  it('uses the shortcut for the lines it reads and parses the others', () => {
    const decoder = new NdjsonDecoder((line) => (line === '"x"' ? 'shortcut' : undefined));
    expect(decoder.push('"x"\n{"a":1}\n"x"')).toEqual(['shortcut', { a: 1 }]);
    expect(decoder.end()).toEqual(['shortcut']);
  });
});

describe('ollamaTokenLine', () => {
  // Go's encoding/json, as Ollama writes a token line.
  const goLine = (content: string, model = 'mistral:7b') =>
    JSON.stringify({ model, created_at: '2023-08-04T08:52:19.385406455-07:00', message: { role: 'assistant', content }, done: false })
      .replace(/</g, '\\u003c')
      .replace(/>/g, '\\u003e')
      .replace(/&/g, '\\u0026');

  const contents = [
    'Hello',
    ' world',
    '',
    'a "quoted" word',
    'back\\slash and \\n literally',
    'line\nbreak\ttab\r',
    '<b>&amp;</b>',
    'héllo 👋 日本語',
    '\u2028\u2029',
    '\u0000\u001f',
    '}, "done": true, {"',
  ];

  it.each(contents)('reads %j exactly as JSON.parse does', (content) => {
    const line = goLine(content);
    expect(ollamaTokenLine(line)).toEqual({ message: { content } });
    expect(ollamaTokenLine(line)!.message!.content).toBe((JSON.parse(line) as { message: { content: string } }).message.content);
  });

  it('agrees with JSON.parse on random contents', () => {
    const alphabet = ['a', ' ', '"', '\\', '\n', '<', 'é', '👋', '\u0001', '/', 'u', '}', ','];
    let seed = 7;
    const next = () => (seed = (seed * 48271) % 2147483647);
    for (let i = 0; i < 500; i += 1) {
      const content = Array.from({ length: next() % 12 }, () => alphabet[next() % alphabet.length]).join('');
      expect(ollamaTokenLine(goLine(content))?.message?.content).toBe(content);
    }
  });

  it.each([
    ['the final line', '{"model":"m","created_at":"t","message":{"role":"assistant","content":""},"done":true,"done_reason":"stop","eval_count":3}'],
    ['another field order', '{"created_at":"t","model":"m","message":{"role":"assistant","content":"x"},"done":false}'],
    ['spaces', '{"model": "m", "created_at": "t", "message": {"role": "assistant", "content": "x"}, "done": false}'],
    ['a thinking field', '{"model":"m","created_at":"t","message":{"role":"assistant","content":"","thinking":"hmm"},"done":false}'],
    ['an error line', '{"error":"model crashed"}'],
    ['a raw control character', '{"model":"m","created_at":"t","message":{"role":"assistant","content":"a\tb"},"done":false}'],
    ['a bad escape', '{"model":"m","created_at":"t","message":{"role":"assistant","content":"\\u12"},"done":false}'],
    ['trailing text', '{"model":"m","created_at":"t","message":{"role":"assistant","content":"x"},"done":false} '],
  ])('leaves %s to the full parse', (_name, line) => {
    expect(ollamaTokenLine(line)).toBeUndefined();
  });

  it('still reports a line with a bad escape as malformed', () => {
    const decoder = new NdjsonDecoder(ollamaTokenLine);
    expect(() => decoder.push('{"model":"m","created_at":"t","message":{"role":"assistant","content":"\\u12"},"done":false}\n')).toThrow(
      MalformedLineError,
    );
  });
});
