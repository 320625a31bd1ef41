import { DatasetExample, RecordSkipReason, singleTurn, Turn, TurnRole } from './dataset-example';

export type Recognised = { ok: true; example: DatasetExample } | { ok: false; reason: RecordSkipReason; detail: string };

const CHAT_ROLES: Record<string, TurnRole | 'system'> = { system: 'system', user: 'user', assistant: 'assistant' };
const SHAREGPT_ROLES: Record<string, TurnRole | 'system'> = {
  system: 'system',
  human: 'user',
  user: 'user',
  gpt: 'assistant',
  assistant: 'assistant',
  chatgpt: 'assistant',
};
const PROMPT_KEYS = ['prompt', 'question'];
const RESPONSE_KEYS = ['response', 'answer', 'completion'];

const missing = (detail: string): Recognised => ({ ok: false, reason: 'missing-field', detail });
const badTurns = (detail: string): Recognised => ({ ok: false, reason: 'bad-turns', detail });
const isText = (value: unknown): value is string => typeof value === 'string' && value.trim() !== '';
const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Recognises one parsed record, in this order: chat `{messages}`, ShareGPT `{conversations}`,
 * Alpaca `{instruction, input?, output}`, then `{prompt, response}` (also `question`/`answer`,
 * `completion`). Alpaca's `input` is appended to the instruction after a blank line, as its
 * prompt template does.
 */
export function recogniseRecord(value: unknown): Recognised {
  if (!isObject(value)) return { ok: false, reason: 'unrecognised-shape', detail: `expected a JSON object, got ${describe(value)}` };
  if ('messages' in value) return fromTurns(value.messages, 'messages', 'role', 'content', CHAT_ROLES);
  if ('conversations' in value) return fromTurns(value.conversations, 'conversations', 'from', 'value', SHAREGPT_ROLES);
  if ('instruction' in value || 'output' in value) {
    const { instruction, input, output } = value;
    if (!isText(instruction)) return missing('instruction must be a non-empty string');
    if (!isText(output)) return missing('output must be a non-empty string');
    if (input !== undefined && input !== null && typeof input !== 'string') return missing('input must be a string');
    const prompt = isText(input) ? `${instruction}\n\n${input}` : instruction;
    return { ok: true, example: singleTurn(prompt, output, optionalSystem(value.system)) };
  }
  const promptKey = PROMPT_KEYS.find((key) => key in value);
  const responseKey = RESPONSE_KEYS.find((key) => key in value);
  if (promptKey || responseKey) {
    const prompt = promptKey ? value[promptKey] : undefined;
    const response = responseKey ? value[responseKey] : undefined;
    if (!isText(prompt)) return missing(`${promptKey ?? 'prompt'} must be a non-empty string`);
    if (!isText(response)) return missing(`${responseKey ?? 'response'} must be a non-empty string`);
    return { ok: true, example: singleTurn(prompt, response, optionalSystem(value.system)) };
  }
  const keys = Object.keys(value).slice(0, 5).join(', ');
  return { ok: false, reason: 'unrecognised-shape', detail: `no known fields (has: ${keys || 'none'})` };
}

function fromTurns(list: unknown, field: string, roleKey: string, textKey: string, roles: Record<string, TurnRole | 'system'>): Recognised {
  if (!Array.isArray(list) || list.length === 0) return badTurns(`${field} must be a non-empty array`);
  let system: string | undefined;
  const turns: Turn[] = [];
  for (const [i, message] of list.entries()) {
    if (!isObject(message)) return badTurns(`${field}[${i}] is not an object`);
    const role = roles[String(message[roleKey]).toLowerCase()];
    if (!role) return badTurns(`${field}[${i}].${roleKey} "${String(message[roleKey])}" is not one of ${Object.keys(roles).join(', ')}`);
    const content = message[textKey];
    if (!isText(content)) return badTurns(`${field}[${i}].${textKey} must be a non-empty string`);
    if (role === 'system') {
      if (i !== 0) return badTurns(`${field}[${i}]: a system message may only come first`);
      system = content;
      continue;
    }
    const expected: TurnRole = turns.length % 2 === 0 ? 'user' : 'assistant';
    if (role !== expected) return badTurns(`${field}[${i}]: expected a ${expected} message, got ${role}`);
    turns.push({ role, content });
  }
  if (turns.length === 0) return badTurns(`${field} has no user message`);
  if (turns.length % 2 === 1) return badTurns(`${field} must end with an assistant message`);
  return { ok: true, example: { ...(system ? { system } : {}), turns } };
}

const optionalSystem = (value: unknown): string | undefined => (isText(value) ? value : undefined);

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}
