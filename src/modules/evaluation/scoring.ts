/**
 * Automatic scores of a model's answer against the expected one, each in [0, 1]:
 *
 * - `exact`: 1.0 when the answer equals the expected text after trimming both, else 0;
 * - `containment`: `CONTAINMENT_SCORE` (0.8) when the normalised expected text appears in the
 *   normalised answer as whole words ("paris" in "the capital is paris"; "cat" is not in
 *   "concatenate"), else 0. Less than 1 because the answer may say more, even contradict it;
 * - `f1`: SQuAD's token-overlap F1 (normalised tokens, articles a/an/the dropped), so a
 *   partly right answer gets partial credit.
 *
 * The item's score is the highest of the three; `metric` names which one gave it (on a tie,
 * the first of exact, containment, f1), or is `none` when all three are 0.
 */
export const CONTAINMENT_SCORE = 0.8;

export const METRICS = ['exact', 'containment', 'f1'] as const;
export type Metric = (typeof METRICS)[number];

export interface AnswerScore {
  score: number;
  metric: Metric | 'none';
  scores: Record<Metric, number>;
}

/** Unicode NFKC, lower case, punctuation and symbols as spaces, whitespace collapsed. */
export function normalise(text: string): string {
  return text
    .normalize('NFKC')
    .toLowerCase()
    .replace(/[\p{P}\p{S}]+/gu, ' ')
    .replace(/\s+/gu, ' ')
    .trim();
}

export function exactMatch(answer: string, expected: string): number {
  return answer.trim() === expected.trim() ? 1 : 0;
}

export function containment(answer: string, expected: string): number {
  const needle = normalise(expected);
  if (needle === '') return 0;
  return ` ${normalise(answer)} `.includes(` ${needle} `) ? CONTAINMENT_SCORE : 0;
}

const ARTICLES = new Set(['a', 'an', 'the']);

/** SQuAD's answer tokens: normalised words without articles. */
export function tokens(text: string): string[] {
  const words = normalise(text);
  return words === '' ? [] : words.split(' ').filter((word) => !ARTICLES.has(word));
}

/** SQuAD-style F1 of the shared tokens (a multiset): 1 when both are empty, 0 when only one is. */
export function tokenF1(answer: string, expected: string): number {
  const predicted = tokens(answer);
  const gold = tokens(expected);
  if (predicted.length === 0 || gold.length === 0) return predicted.length === gold.length ? 1 : 0;
  const counts = new Map<string, number>();
  for (const token of gold) counts.set(token, (counts.get(token) ?? 0) + 1);
  let common = 0;
  for (const token of predicted) {
    const left = counts.get(token) ?? 0;
    if (left > 0) {
      common += 1;
      counts.set(token, left - 1);
    }
  }
  if (common === 0) return 0;
  const precision = common / predicted.length;
  const recall = common / gold.length;
  return (2 * precision * recall) / (precision + recall);
}

/** The three scores and the item's score (the highest; see the module comment). */
export function scoreAnswer(answer: string, expected: string): AnswerScore {
  const scores: Record<Metric, number> = {
    exact: exactMatch(answer, expected),
    containment: containment(answer, expected),
    f1: round(tokenF1(answer, expected)),
  };
  let metric: Metric = 'exact';
  for (const name of METRICS) if (scores[name] > scores[metric]) metric = name;
  return { score: scores[metric], metric: scores[metric] > 0 ? metric : 'none', scores };
}

/** Scores are kept to 4 decimals: enough to rank, short in reports. */
export const round = (value: number): number => Math.round(value * 10_000) / 10_000;
