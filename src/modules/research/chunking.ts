import MiniSearch from 'minisearch';

/**
 * Splits text into chunks of about `size` characters that overlap by about `overlap`, cut at
 * whitespace, so a sentence that straddles a boundary is whole in at least one chunk.
 */
export function chunkText(text: string, size: number, overlap: number): string[] {
  const words = text.split(/\s+/).filter(Boolean);
  const chunks: string[] = [];
  let start = 0;
  while (start < words.length) {
    let length = 0;
    let end = start;
    while (end < words.length && (end === start || length + words[end].length + 1 <= size)) {
      length += words[end].length + 1;
      end += 1;
    }
    chunks.push(words.slice(start, end).join(' '));
    if (end >= words.length) break;
    // Step back over about `overlap` characters of words for the next chunk (always moving on).
    let back = end;
    let kept = 0;
    while (back > start + 1 && kept + words[back - 1].length + 1 <= overlap) {
      back -= 1;
      kept += words[back].length + 1;
    }
    start = back;
  }
  return chunks;
}

/** BM25 scores of `texts` against `query` (MiniSearch: prefix and light fuzzy matching), scaled to 0..1. */
export function bm25Scores(texts: readonly string[], query: string): number[] {
  const index = new MiniSearch<{ id: number; text: string }>({ fields: ['text'], storeFields: [] });
  index.addAll(texts.map((text, id) => ({ id, text })));
  const scores = new Array<number>(texts.length).fill(0);
  for (const hit of index.search(query, { prefix: true, fuzzy: 0.2, combineWith: 'OR' })) scores[hit.id as number] = hit.score;
  const best = Math.max(0, ...scores);
  return best > 0 ? scores.map((score) => score / best) : scores;
}

export function cosineSimilarity(a: readonly number[], b: readonly number[]): number {
  let dot = 0;
  let normA = 0;
  let normB = 0;
  for (let i = 0; i < Math.min(a.length, b.length); i += 1) {
    dot += a[i] * b[i];
    normA += a[i] * a[i];
    normB += b[i] * b[i];
  }
  return normA > 0 && normB > 0 ? dot / Math.sqrt(normA * normB) : 0;
}
