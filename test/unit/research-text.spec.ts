import { mapLimit } from '../../src/common/async/map-limit';
import { bm25Scores, chunkText, cosineSimilarity } from '../../src/modules/research/chunking';
import { cap, plainText, readableText, snippetAround } from '../../src/modules/research/readable-text';

describe('readableText', () => {
  it('keeps headings and paragraphs one per line and drops scripts, styles, navigation and footers', () => {
    const html = `<html><head><title> My  Page </title><style>p{}</style></head><body>
      <header><nav>Menu</nav></header><script>alert(1)</script>
      <h1>Title</h1><p>First   paragraph
      here.</p><ul><li><p>Item one</p></li><li>Item two</li></ul><footer>Footer</footer></body></html>`;
    expect(readableText(html, 1000)).toEqual({ title: 'My Page', text: 'Title\nFirst paragraph here.\nItem one\nItem two' });
  });

  it('prefers <main> or <article> and falls back to all body text when there are no blocks', () => {
    expect(readableText('<body><div>Outside</div><main><p>Inside</p></main></body>', 100).text).toBe('Inside');
    expect(readableText('<body><div>Just <span>a div</span></div></body>', 100).text).toBe('Just a div');
  });

  it('caps the text at a word with an ellipsis', () => {
    expect(cap('one two three four five', 16)).toBe('one two three…');
    expect(cap('abcdefghijklmnopqrstuvwxyz', 10)).toBe('abcdefghi…');
    expect(cap('short', 12)).toBe('short');
    expect(readableText(`<p>${'word '.repeat(100)}</p>`, 50).text.length).toBeLessThanOrEqual(50);
  });

  it('collapses plain text per line', () => {
    expect(plainText('a   b\n\n  c\r\n', 100)).toBe('a b\nc');
  });
});

describe('snippetAround', () => {
  it('shows the passage with the most query words', () => {
    const text = `${'filler '.repeat(60)}the zebra crossing rule ${'tail '.repeat(60)}`;
    const snippet = snippetAround(text, 'Zebra crossing', 80);
    expect(snippet.startsWith('…')).toBe(true);
    expect(snippet).toContain('zebra crossing');
    expect(snippet.length).toBeLessThanOrEqual(80);
  });

  it('returns short text whole', () => {
    expect(snippetAround('short text', 'text', 80)).toBe('short text');
  });
});

describe('chunkText', () => {
  it('makes overlapping chunks of about the given size that cover every word', () => {
    const words = Array.from({ length: 100 }, (_, i) => `w${i}`);
    const chunks = chunkText(words.join(' '), 50, 15);
    expect(chunks.every((chunk) => chunk.length <= 50)).toBe(true);
    expect(new Set(chunks.flatMap((chunk) => chunk.split(' ')))).toEqual(new Set(words));
    for (let i = 1; i < chunks.length; i += 1) {
      const previous = chunks[i - 1].split(' ');
      expect(chunks[i].startsWith(previous[previous.length - 1]) || chunks[i].split(' ').some((w) => previous.includes(w))).toBe(true);
    }
  });

  it('keeps a word longer than the size as its own chunk and never loops', () => {
    expect(chunkText(`${'x'.repeat(30)} y`, 10, 5)).toEqual(['x'.repeat(30), 'y']);
    expect(chunkText('', 10, 5)).toEqual([]);
  });
});

describe('ranking helpers', () => {
  it('scores BM25 matches between 0 and 1, best first', () => {
    const scores = bm25Scores(['circuit breaker opens', 'bananas', 'a breaker'], 'circuit breaker');
    expect(scores[0]).toBe(1);
    expect(scores[1]).toBe(0);
    expect(scores[2]).toBeGreaterThan(0);
    expect(scores[2]).toBeLessThan(1);
  });

  it('computes cosine similarity', () => {
    expect(cosineSimilarity([1, 0], [1, 0])).toBeCloseTo(1);
    expect(cosineSimilarity([1, 0], [0, 1])).toBeCloseTo(0);
    expect(cosineSimilarity([0, 0], [1, 1])).toBe(0);
  });
});

describe('mapLimit', () => {
  it('keeps at most `limit` calls in flight and the results in input order', async () => {
    let inFlight = 0;
    let most = 0;
    const results = await mapLimit([30, 10, 20, 5, 15], 2, async (ms, index) => {
      inFlight += 1;
      most = Math.max(most, inFlight);
      await new Promise((resolve) => setTimeout(resolve, ms));
      inFlight -= 1;
      return index;
    });
    expect(results).toEqual([0, 1, 2, 3, 4]);
    expect(most).toBe(2);
  });
});
