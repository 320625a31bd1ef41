import { parseEvalSet } from '../../src/modules/evaluation/eval-set';
import { fromJsonl } from '../../src/modules/evaluation/candidates';
import { JUDGE_RUBRIC, judgeMessages, parseJudgeScore } from '../../src/modules/evaluation/judge';
import { compareReports } from '../../src/modules/evaluation/report-comparison';
import { EvalReport, ItemResult, summarise } from '../../src/modules/evaluation/eval-report';
import { containment, exactMatch, normalise, scoreAnswer, tokenF1 } from '../../src/modules/evaluation/scoring';

describe('scoring', () => {
  describe(normalise.name, () => {
    it.each([
      ['  Hello,   WORLD! ', 'hello world'],
      ['Ｐａｒｉｓ', 'paris'], // full-width letters (NFKC)
      ['ﬁne', 'fine'], // ligature (NFKC)
      ['l’été—déjà', 'l été déjà'],
      ['a\tb\nc', 'a b c'],
      ['$100 + 5%', '100 5'],
    ])('%j → %j', (input, expected) => {
      expect(normalise(input)).toBe(expected);
    });
  });

  describe(exactMatch.name, () => {
    it.each([
      ['Paris', 'Paris', 1],
      ['  Paris\n', 'Paris ', 1],
      ['paris', 'Paris', 0],
      ['Paris.', 'Paris', 0],
    ])('%j vs %j → %d', (answer, expected, score) => {
      expect(exactMatch(answer, expected)).toBe(score);
    });
  });

  describe(containment.name, () => {
    it.each([
      ['The capital of France is Paris.', 'paris', 0.8],
      ['It is PARIS, France', 'Paris, France!', 0.8],
      ['Ｐａｒｉｓ', 'paris', 0.8],
      ['concatenate', 'cat', 0], // whole words only
      ['Lyon', 'Paris', 0],
      ['anything', '!!!', 0], // nothing left of the expected text
    ])('%j contains %j → %d', (answer, expected, score) => {
      expect(containment(answer, expected)).toBe(score);
    });
  });

  describe(tokenF1.name, () => {
    it.each([
      ['the cat sat', 'cat sat', 1], // articles dropped
      ['cat', 'cat sat', 2 / 3], // P 1, R 1/2
      ['cat sat on mat', 'cat sat', 2 / 3], // P 1/2, R 1
      ['dog', 'cat', 0],
      ['', '', 1],
      ['the', 'cat', 0], // nothing left of the answer
      ['cat cat', 'cat', 2 / 3], // a multiset: the second "cat" is not shared
    ])('%j vs %j → %f', (answer, expected, score) => {
      expect(tokenF1(answer, expected)).toBeCloseTo(score, 10);
    });
  });

  describe(scoreAnswer.name, () => {
    it.each([
      ['Paris', 'Paris', 1, 'exact'],
      ['The answer is Paris.', 'Paris', 0.8, 'containment'],
      ['Paris.', 'paris', 1, 'f1'], // same tokens, not the same text
      ['red green blue', 'red yellow', 0.4, 'f1'],
      ['cat sat', 'the cat sat on the mat', 0.6667, 'f1'], // not contained; P 1, R 2/4
      ['nothing alike', 'Paris', 0, 'none'],
    ])('%j vs %j → %f by %s', (answer, expected, score, metric) => {
      const result = scoreAnswer(answer, expected);
      expect(result.score).toBeCloseTo(score, 4);
      expect(result.metric).toBe(metric);
    });

    it('keeps every score, and prefers exact over an equal F1', () => {
      expect(scoreAnswer(' Paris ', 'Paris')).toEqual({ score: 1, metric: 'exact', scores: { exact: 1, containment: 0.8, f1: 1 } });
    });
  });
});

describe(parseJudgeScore.name, () => {
  it.each([
    ['{"score": 0.75, "reason": "missing a detail"}', 0.75],
    ['```json\n{"score": 1, "reason": "correct"}\n```', 1],
    ['Here you go: {"score": "0.5"}', 0.5],
    ['Score: 0.25', 0.25],
    ['grade = .5 because it is partly right', 0.5],
    ['7/10', 0.7],
    ['I would give it 3 / 4.', 0.75],
    ['80%', 0.8],
    ['0', 0],
    ['1.', 1],
  ])('%j → %f', (reply, score) => {
    expect(parseJudgeScore(reply)).toBeCloseTo(score, 10);
  });

  it.each([
    ['', 'empty'],
    ['The answer is good.', 'no number'],
    ['{"score": 7}', 'out of range, not clamped'],
    ['Score: 1.5', 'out of range'],
    ['11/10', 'more than the whole'],
    ['5/0', 'no denominator'],
    ['{"score": null}', 'null score'],
    ['I count 3 mistakes', 'a number that is not a grade'],
  ])('%j → undefined (%s)', (reply) => {
    expect(parseJudgeScore(reply)).toBeUndefined();
  });

  it('sends the fixed rubric as the system message and the three texts as the user message', () => {
    expect(judgeMessages('Q?', 'E', 'A')).toEqual([
      { role: 'system', content: JUDGE_RUBRIC },
      { role: 'user', content: 'QUESTION:\nQ?\n\nEXPECTED:\nE\n\nANSWER:\nA' },
    ]);
  });
});

describe(parseEvalSet.name, () => {
  it('keeps good lines with their numbers and skips bad ones with a reason', () => {
    const text = [
      '{"prompt":"p1","expected":"e1","id":7}',
      '{broken',
      '',
      '[1,2]',
      '{"prompt":"","expected":"e"}',
      '{"prompt":"p","expected":3}',
      '{"prompt":"p6","expected":"e6"}\r',
    ].join('\n');
    const set = parseEvalSet(`\uFEFF${text}`);
    expect(set.items).toEqual([
      { line: 1, prompt: 'p1', expected: 'e1' },
      { line: 7, prompt: 'p6', expected: 'e6' },
    ]);
    expect(set.skipped).toEqual([
      { line: 2, reason: expect.stringMatching(/^invalid JSON/) },
      { line: 4, reason: 'not a JSON object' },
      { line: 5, reason: 'prompt must be a non-empty string' },
      { line: 6, reason: 'expected must be a non-empty string' },
    ]);
  });
});

describe(fromJsonl.name, () => {
  it('names unnamed candidates by line and skips empty prompts, bad lines and duplicate names', () => {
    const set = fromJsonl(
      ['{"name":"terse","prompt":" Be terse. "}', '{"prompt":"Be kind."}', '{"name":"terse","prompt":"again"}', '{"prompt":"  "}', 'nope', '{"name":3,"prompt":"x"}'].join('\n'),
      'c.jsonl',
    );
    expect(set.candidates).toEqual([
      { name: 'terse', prompt: 'Be terse.', source: 'c.jsonl:1' },
      { name: 'line-2', prompt: 'Be kind.', source: 'c.jsonl:2' },
    ]);
    expect(set.skipped.map((skip) => [skip.line, skip.reason.replace(/ \(.*/, '')])).toEqual([
      [3, 'duplicate name "terse"'],
      [4, 'empty prompt'],
      [5, 'invalid JSON'],
      [6, 'name must be a non-empty string when given'],
    ]);
  });
});

describe(compareReports.name, () => {
  const item = (line: number, prompt: string, score: number, error = false): ItemResult => ({
    line,
    prompt,
    expected: 'x',
    answer: error ? null : 'a',
    score,
    metric: error ? null : 'f1',
    scores: null,
    error: error ? { type: 'BackendUnavailableError', message: 'down' } : null,
    cached: false,
    duration_ms: 1,
  });
  const report = (sha: string, items: ItemResult[]): EvalReport => ({
    kind: 'vega-eval-report',
    version: 1,
    started_at: '2026-11-24T09:00:00.000Z',
    finished_at: '2026-11-24T09:00:01.000Z',
    duration_ms: 1000,
    model: 'mistral',
    judge: null,
    system_prompt: null,
    eval_file: { path: '/e.jsonl', sha256: sha, items: items.length, skipped_lines: [] },
    concurrency: 4,
    summary: summarise(items),
    items,
  });

  it('matches items by prompt (repeated prompts in order) and counts improved, regressed and unchanged', () => {
    const a = report('abc', [item(1, 'p1', 0.5), item(2, 'p2', 1), item(3, 'dup', 0), item(4, 'dup', 0.8)]);
    const b = report('abc', [item(2, 'p2', 0.8), item(1, 'p1', 1), item(3, 'dup', 0), item(4, 'dup', 0.8)]);
    const comparison = compareReports(a, b);
    expect(comparison.items.map(({ line, a: x, b: y, delta, change }) => [line, x, y, delta, change])).toEqual([
      [1, 0.5, 1, 0.5, 'improved'],
      [2, 1, 0.8, -0.2, 'regressed'],
      [3, 0, 0, 0, 'unchanged'],
      [4, 0.8, 0.8, 0, 'unchanged'],
    ]);
    expect(comparison).toMatchObject({ improved: 1, regressed: 1, unchanged: 2, delta: 0.075, a: { mean: 0.575 }, b: { mean: 0.65 } });
  });

  it('refuses two runs of different eval files, naming both', () => {
    expect(() => compareReports(report('aaa', []), report('bbb', []), { a: 'one.json', b: 'two.json' })).toThrow(
      /one\.json and two\.json ran different eval files .*sha256 aaa… vs .*sha256 bbb…/,
    );
  });

  it('counts a failed item as 0 in the mean; judge means leave judge failures out', () => {
    const items = [item(1, 'p', 1), item(2, 'q', 0, true)];
    items[0].judge = { score: 0.5 };
    items[1].judge = { score: null, error: 'judge call failed' };
    expect(summarise(items)).toEqual({ items: 2, answered: 1, failed: 1, mean: 0.5, judge_mean: 0.5, judged: 1, judge_failed: 1 });
  });
});
