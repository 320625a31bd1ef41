import { DatasetExample, DatasetFormat } from './dataset-example';

const SHAREGPT_FROM = { user: 'human', assistant: 'gpt' } as const;

/**
 * The JSON objects (one per output line) that represent `example` in `format`. Chat and
 * ShareGPT keep the whole conversation and its system prompt. Alpaca and prompt-response are
 * single-turn: each user → assistant exchange becomes its own line, and a system prompt is
 * kept as the record's `system` field.
 */
export function formatExample(example: DatasetExample, format: DatasetFormat): object[] {
  const system = example.system;
  switch (format) {
    case 'chat':
      return [{ messages: [...(system ? [{ role: 'system', content: system }] : []), ...example.turns.map(({ role, content }) => ({ role, content }))] }];
    case 'sharegpt':
      return [
        {
          conversations: [
            ...(system ? [{ from: 'system', value: system }] : []),
            ...example.turns.map(({ role, content }) => ({ from: SHAREGPT_FROM[role], value: content })),
          ],
        },
      ];
    case 'alpaca':
      return pairs(example).map(([prompt, response]) => ({ instruction: prompt, input: '', output: response, ...(system ? { system } : {}) }));
    case 'prompt-response':
      return pairs(example).map(([prompt, response]) => ({ prompt, response, ...(system ? { system } : {}) }));
  }
}

function pairs(example: DatasetExample): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i + 1 < example.turns.length; i += 2) out.push([example.turns[i].content, example.turns[i + 1].content]);
  return out;
}
