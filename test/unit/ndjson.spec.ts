import { MalformedLineError, ndjson } from '../../src/core/llm/ndjson';

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
