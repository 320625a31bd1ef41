import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { singleTurn } from '../dataset-example';
import { DatasetLoader, LoadItem } from './dataset-loader';

type Marker = 'question' | 'answer';

/** `### Question`, `## Answer: …`, `# Q`, `### A:` — a Markdown heading that opens a question or an answer. */
const HEADING_MARKER = /^#{1,6}\s+(?:(question|answer)\b\s*:?|(q|a)\s*(?::|$))\s*(.*)$/i;
/** `Q: …`, `Answer: …`, `**Q:** …`, `**A**: …` — a line that opens a question or an answer. */
const LINE_MARKER = /^\s*(?:\*\*|__)?(question|answer|q|a)\s*(?:\*\*|__)?\s*:\s*(?:\*\*|__)?\s*(.*)$/i;
const OTHER_HEADING = /^#{1,6}\s/;
const FENCE = /^\s*(```|~~~)/;

interface Block {
  marker: Marker;
  line: number;
  lines: string[];
}

/**
 * Question/answer pairs in plain text and Markdown, read line by line. A pair is a question
 * marker (`Q:`, `Question:`, `### Question`) followed by an answer marker (`A:`, `Answer:`,
 * `### Answer`); each part runs until the next marker or another Markdown heading. Text
 * before the first marker is ignored; lines inside code fences are never markers. A
 * question without an answer, or an answer without a question, is skipped as `incomplete-pair`.
 */
export class QaTextLoader implements DatasetLoader {
  readonly extensions = ['.txt', '.md', '.markdown'];

  async *load(path: string): AsyncIterable<LoadItem> {
    const lines = createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Infinity });
    let question: Block | undefined;
    let answer: Block | undefined;
    /** The block new plain lines are appended to (none after an unrelated heading). */
    let open: Block | undefined;
    let inFence = false;
    let number = 0;

    const finishPair = (): LoadItem | undefined => {
      if (!answer) return undefined;
      const item = pairItem(question, answer);
      question = undefined;
      answer = undefined;
      return item;
    };

    try {
      for await (const raw of lines) {
        number += 1;
        const line = number === 1 ? raw.replace(/^\uFEFF/, '') : raw;
        if (FENCE.test(line)) inFence = !inFence;
        const marker = inFence ? undefined : parseMarker(line);
        if (!marker) {
          if (!inFence && OTHER_HEADING.test(line)) open = undefined;
          else open?.lines.push(line);
          continue;
        }
        if (marker.kind === 'question') {
          const done = finishPair();
          if (done) yield done;
          if (question) yield incomplete(question, 'a question without an answer');
          question = { marker: 'question', line: number, lines: [marker.text] };
          open = question;
        } else {
          if (answer) {
            // A second answer in a row: the first one closes its pair; this one has no question.
            const done = finishPair();
            if (done) yield done;
          }
          answer = { marker: 'answer', line: number, lines: [marker.text] };
          open = answer;
        }
      }
      const done = finishPair();
      if (done) yield done;
      if (question) yield incomplete(question, 'a question without an answer');
    } finally {
      lines.close();
    }
  }
}

function parseMarker(line: string): { kind: Marker; text: string } | undefined {
  const heading = HEADING_MARKER.exec(line);
  if (heading) return { kind: kindOf(heading[1] ?? heading[2]), text: heading[3] };
  const plain = LINE_MARKER.exec(line);
  if (plain) return { kind: kindOf(plain[1]), text: plain[2] };
  return undefined;
}

const kindOf = (word: string): Marker => (word.toLowerCase().startsWith('q') ? 'question' : 'answer');

function pairItem(question: Block | undefined, answer: Block): LoadItem {
  if (!question) return incomplete(answer, 'an answer without a question');
  const where = `line ${question.line}`;
  const prompt = text(question);
  const response = text(answer);
  if (!prompt) return { kind: 'skip', reason: 'missing-field', where, detail: 'the question is empty' };
  if (!response) return { kind: 'skip', reason: 'missing-field', where, detail: 'the answer is empty' };
  return { kind: 'record', where, example: singleTurn(prompt, response) };
}

const incomplete = (block: Block, detail: string): LoadItem => ({ kind: 'skip', reason: 'incomplete-pair', where: `line ${block.line}`, detail });

const text = (block: Block): string => block.lines.join('\n').trim();
