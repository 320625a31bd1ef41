import 'reflect-metadata';
import { ArgumentMetadata } from '@nestjs/common';
import { createValidationPipe } from '../../src/app/validation.pipe';
import { ChatRequestDto } from '../../src/modules/chat/dto/chat-request.dto';
import { ChatCompletionRequestDto } from '../../src/modules/openai/dto/chat-completion-request.dto';
import { PurgeRequestDto } from '../../src/modules/admin/dto/database-admin.dto';

/** The 400 message the app's pipe gives for `body` against `dto`. */
async function messageFor(dto: Function, body: unknown): Promise<string> {
  const metadata: ArgumentMetadata = { type: 'body', metatype: dto as new () => object, data: undefined };
  try {
    await createValidationPipe().transform(body, metadata);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('the body was accepted');
}

describe('validation messages', () => {
  it('says a missing field is required', async () => {
    expect(await messageFor(ChatRequestDto, {})).toBe('prompt is required');
    expect(await messageFor(PurgeRequestDto, {})).toBe('older_than_days is required');
  });

  it('names the first rule as written that a value breaks, once per field', async () => {
    expect(await messageFor(ChatRequestDto, { prompt: 'x', session_id: 5 })).toBe('session_id must be a string');
    expect(await messageFor(ChatRequestDto, { prompt: 'x', session_id: 'a b'.repeat(30) })).toBe('session_id must be shorter than or equal to 64 characters');
    expect(await messageFor(PurgeRequestDto, { older_than_days: 'x' })).toBe('older_than_days must be an integer (days, 1..36500)');
    expect(await messageFor(PurgeRequestDto, { older_than_days: 0 })).toBe('older_than_days must be between 1 and 36500');
  });

  it('names every wrong field, nested ones by their path', async () => {
    expect(await messageFor(ChatRequestDto, { prompt: 5, model: 'bad model', stream: 'yes' })).toBe(
      'stream must be a boolean value; prompt must be a string; model is not a valid model name',
    );
    expect(await messageFor(ChatCompletionRequestDto, { model: 'm', messages: [{ role: 'user' }, { role: 'robot', content: 'x' }] })).toBe(
      'messages.0.content is required; messages.1.role must be one of system, developer, user, assistant, tool',
    );
  });
});
