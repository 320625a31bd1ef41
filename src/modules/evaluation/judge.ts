import type { ChatMessage } from '../../core/llm/llm-backend';

/**
 * The judge: another model grades an answer from 0 to 1 with this fixed rubric. The rubric is
 * part of the report (by version), so two runs judged with different rubrics are not mistaken
 * for comparable ones.
 */
export const JUDGE_RUBRIC_VERSION = 1;

export const JUDGE_RUBRIC = [
  'You grade answers to questions. You are given a QUESTION, the EXPECTED answer and the ANSWER to grade.',
  'Grade how well the ANSWER agrees with the EXPECTED answer, from 0 to 1:',
  '1 = correct and complete; 0.75 = correct but missing a detail or with harmless extra text;',
  '0.5 = partly correct; 0.25 = mostly wrong but related; 0 = wrong, unrelated, or refuses to answer.',
  'Judge the meaning, not the wording. Ignore style and length unless they change the meaning.',
  'Reply with JSON only, on one line: {"score": <number from 0 to 1>, "reason": "<a few words>"}',
].join('\n');

/** Generation options for the judge: as repeatable as the backend allows. */
export const JUDGE_OPTIONS: Readonly<Record<string, unknown>> = { temperature: 0, top_p: 1 };

export function judgeMessages(prompt: string, expected: string, answer: string): ChatMessage[] {
  return [
    { role: 'system', content: JUDGE_RUBRIC },
    { role: 'user', content: `QUESTION:\n${prompt}\n\nEXPECTED:\n${expected}\n\nANSWER:\n${answer}` },
  ];
}

const NUMBER = String.raw`(\d+(?:\.\d+)?|\.\d+)`;

/**
 * The grade in the judge's reply, or undefined when there is none to trust. Accepted, in
 * order: a JSON object with a numeric `score` (also inside a code fence or surrounded by
 * text); `score: 0.7` / `grade = 0.7`; a fraction `3/4` or `7/10`; a percentage `70%`; a
 * reply that is only a number. Anything outside [0, 1] is refused rather than clamped.
 */
export function parseJudgeScore(reply: string): number | undefined {
  const text = reply.trim();
  const candidate = fromJson(text) ?? fromLabel(text) ?? fromFraction(text) ?? fromPercent(text) ?? fromBare(text);
  if (candidate === undefined || !Number.isFinite(candidate) || candidate < 0 || candidate > 1) return undefined;
  return candidate;
}

function fromJson(text: string): number | undefined {
  const match = /\{[^{}]*\}/s.exec(text);
  if (!match) return undefined;
  try {
    const value = (JSON.parse(match[0]) as { score?: unknown }).score;
    if (typeof value === 'number') return value;
    if (typeof value === 'string' && new RegExp(`^\\s*${NUMBER}\\s*$`).test(value)) return Number(value);
  } catch {
    // Not JSON after all; the other shapes may still match.
  }
  return undefined;
}

function fromLabel(text: string): number | undefined {
  const match = new RegExp(`\\b(?:score|grade|rating)\\b["']?\\s*[:=]\\s*["']?${NUMBER}(?!\\s*(?:/|%))`, 'i').exec(text);
  return match ? Number(match[1]) : undefined;
}

function fromFraction(text: string): number | undefined {
  const match = new RegExp(`${NUMBER}\\s*/\\s*(\\d+)`).exec(text);
  if (!match) return undefined;
  const denominator = Number(match[2]);
  return denominator > 0 ? Number(match[1]) / denominator : undefined;
}

function fromPercent(text: string): number | undefined {
  const match = new RegExp(`${NUMBER}\\s*%`).exec(text);
  return match ? Number(match[1]) / 100 : undefined;
}

function fromBare(text: string): number | undefined {
  const match = new RegExp(`^${NUMBER}\\.?$`).exec(text);
  return match ? Number(match[1]) : undefined;
}
