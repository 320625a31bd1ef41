import 'reflect-metadata';
import { ArgumentMetadata, ValidationPipe } from '@nestjs/common';
import { createValidationPipe, validationPipeOptions } from '../../src/app/validation.pipe';
import { ChatRequestDto, isPlainChatRequest } from '../../src/modules/chat/dto/chat-request.dto';

/** Every value a field can take in the generated bodies; `ABSENT` leaves the field out. */
const ABSENT = Symbol('absent');
const POOLS: Record<string, unknown[]> = {
  prompt: [ABSENT, '', 'hi', 'x'.repeat(5000), '😀', ' ', 123, null, true, [], {}],
  session_id: [ABSENT, 'abc', 'a'.repeat(64), 'a'.repeat(65), 'a-b_C9', 'bad id', '', 'ü', null, 5, ['a']],
  model: [ABSENT, 'mistral', 'llama3.1:8b', 'org/model@sha+1', '-bad', '', 'a'.repeat(200), 'a'.repeat(201), 'mo del', null, 7],
  stream: [ABSENT, true, false, 'true', 1, null],
  options: [ABSENT, ABSENT, ABSENT, ABSENT, { temperature: 0.2 }, { nope: 1 }, null],
  extra: [ABSENT, ABSENT, ABSENT, ABSENT, 1, null],
};

/** A small deterministic generator (mulberry32), so a failure can be replayed. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function bodies(count: number): Record<string, unknown>[] {
  const next = random(42);
  return Array.from({ length: count }, () => {
    const body: Record<string, unknown> = {};
    for (const [field, pool] of Object.entries(POOLS)) {
      const value = pool[Math.floor(next() * pool.length)];
      if (value !== ABSENT) body[field] = value;
    }
    return body;
  });
}

type Outcome = { ok: true; value: unknown; type: unknown } | { ok: false; message: string };

async function outcome(pipe: ValidationPipe, body: unknown): Promise<Outcome> {
  const metadata: ArgumentMetadata = { type: 'body', metatype: ChatRequestDto, data: undefined };
  try {
    const value = (await pipe.transform(structuredClone(body), metadata)) as object;
    return { ok: true, value: { ...value }, type: value.constructor };
  } catch (error) {
    return { ok: false, message: (error as Error).message };
  }
}

describe('the chat request shortcut (AcceptPlainWhen)', () => {
  const app = createValidationPipe();
  const full = new ValidationPipe(validationPipeOptions());

  it('accepts only bodies the DTO rules accept, and makes the same instance', async () => {
    let shortcut = 0;
    for (const body of bodies(20000)) {
      if (!isPlainChatRequest(body)) continue;
      shortcut += 1;
      const reference = await outcome(full, body);
      expect({ body, ...reference }).toMatchObject({ ok: true });
      expect(await outcome(app, body)).toEqual(reference);
    }
    // The pools make a good share of bodies that take the shortcut.
    expect(shortcut).toBeGreaterThan(100);
  });

  it('answers every body exactly as the full validation does (value or 400 message)', async () => {
    for (const body of bodies(1500)) {
      expect({ body, outcome: await outcome(app, body) }).toEqual({ body, outcome: await outcome(full, body) });
    }
  });

  it('leaves non-plain values to the full validation', () => {
    expect(isPlainChatRequest(Object.assign(Object.create(null), { prompt: 'hi' }))).toBe(false);
    expect(isPlainChatRequest(JSON.parse('{"prompt":"hi","__proto__":{"x":1}}'))).toBe(false);
    expect(isPlainChatRequest([{ prompt: 'hi' }])).toBe(false);
    expect(isPlainChatRequest('{"prompt":"hi"}')).toBe(false);
    expect(isPlainChatRequest({ prompt: 'hi' })).toBe(true);
  });
});
