import { LineTooLongError, MalformedLineError, NdjsonDecoder, ndjson } from '../../src/core/llm/transport/ndjson';
import { ollamaTokenLine } from '../../src/core/llm/backends/ollama/ollama.backend';

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

describe('NdjsonDecoder line limit', () => {
  it('joins a line cut into many chunks, with a multi-byte character cut inside one', () => {
    const bytes = Buffer.from(`{"t":"${'é'.repeat(20)}👋"}\n{"u":1}\n`);
    const decoder = new NdjsonDecoder(undefined, 64);
    const values: unknown[] = [];
    for (let at = 0; at < bytes.length; at += 3) values.push(...decoder.push(bytes.subarray(at, at + 3)));
    expect([...values, ...decoder.end()]).toEqual([{ t: `${'é'.repeat(20)}👋` }, { u: 1 }]);
  });

  it('accepts a line of exactly the limit, across chunks and within one', () => {
    const line = `{"t":"${'x'.repeat(10)}"}`; // 18 bytes
    const across = new NdjsonDecoder(undefined, 18);
    expect([...across.push(line.slice(0, 5)), ...across.push(`${line.slice(5)}\n${line}`), ...across.end()]).toEqual([{ t: 'x'.repeat(10) }, { t: 'x'.repeat(10) }]);
    const within = new NdjsonDecoder(undefined, 18);
    expect(within.push(Buffer.from(`${line}\n${line}\n`))).toEqual([{ t: 'x'.repeat(10) }, { t: 'x'.repeat(10) }]);
  });

  it('raises LineTooLongError as soon as an unfinished line passes the limit, counting bytes', () => {
    const decoder = new NdjsonDecoder(undefined, 16);
    expect(decoder.push(Buffer.from('{"a":1}\n{"t":"ééé'))).toEqual([{ a: 1 }]); // 12 bytes pending
    expect(() => decoder.push(Buffer.from('ééé'))).toThrow(LineTooLongError); // 18 bytes, 12 characters
  });

  it('raises LineTooLongError for a long line that ends in the chunk that carries it over the limit', () => {
    const decoder = new NdjsonDecoder(undefined, 16);
    decoder.push('{"t":"0123456');
    expect(() => decoder.push('789abcdef"}\n')).toThrow(new LineTooLongError(16));
  });

  it('raises LineTooLongError for a long line inside one big chunk', () => {
    const decoder = new NdjsonDecoder(undefined, 16);
    expect(() => decoder.push(Buffer.from(`{"a":1}\n{"t":"${'x'.repeat(20)}"}\n`))).toThrow(LineTooLongError);
  });

  it('keeps memory flat and time linear for a huge line without a newline', () => {
    const decoder = new NdjsonDecoder();
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    const started = performance.now();
    let sent = 0;
    expect(() => {
      for (; sent < 16 * 1024 * 1024; sent += chunk.length) decoder.push(chunk);
    }).toThrow('The backend sent a line longer than 1048576 bytes (the BACKEND_MAX_LINE_BYTES limit); the stream was stopped');
    expect(sent).toBeLessThanOrEqual(1024 * 1024);
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('is a MalformedLineError, so every reader of the stream reports it as a backend error', () => {
    expect(new LineTooLongError(1)).toBeInstanceOf(MalformedLineError);
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
