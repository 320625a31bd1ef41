import 'reflect-metadata';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { plainToInstance } from 'class-transformer';
import { getMetadataStorage, validateSync } from 'class-validator';

/**
 * OpenAI's requests allow these to be `null` (its spec marks them nullable);
 * they are taken as "not given". Every other field of every DTO refuses `null`.
 */
const NULL_AS_ABSENT: Record<string, string[]> = {
  ChatCompletionRequestDto: [
    'stream', 'stream_options', 'temperature', 'top_p', 'max_tokens', 'max_completion_tokens',
    'stop', 'seed', 'presence_penalty', 'frequency_penalty', 'n', 'reasoning_effort', 'logprobs', 'top_logprobs',
  ],
  // OpenAI's legacy completions and embeddings requests mark these nullable too.
  CreateCompletionRequestDto: [
    'suffix', 'max_tokens', 'temperature', 'top_p', 'stop', 'seed', 'presence_penalty', 'frequency_penalty',
    'stream', 'stream_options', 'echo', 'logprobs', 'n', 'best_of',
  ],
  CreateEmbeddingRequestDto: ['encoding_format', 'dimensions', 'user'],
  // Not OpenAI's fields: the reasoning echo of DeepSeek, vLLM and Ollama, which clients send back as they got it.
  ChatCompletionMessageDto: ['refusal', 'reasoning', 'reasoning_content'],
  FunctionDefinitionDto: ['strict'],
  JsonSchemaFormatDto: ['strict'],
  // OpenAI's Responses request (openai-node `ResponseCreateParamsBase`, `FunctionTool`, `Reasoning`, `ResponseFormatTextJSONSchemaConfig`).
  CreateResponseRequestDto: [
    'instructions', 'previous_response_id', 'parallel_tool_calls', 'reasoning', 'max_output_tokens', 'temperature', 'top_p', 'stream', 'store',
  ],
  ResponseFunctionToolDto: ['description', 'parameters', 'strict'],
  ResponseReasoningConfigDto: ['effort', 'summary'],
  ResponseTextFormatDto: ['strict'],
};

const MODULES = join(__dirname, '..', '..', 'src', 'modules');

/** Every class exported by a file under src/modules/<feature>/dto that has validation rules. */
function validatedDtos(): Function[] {
  const files = readdirSync(MODULES, { recursive: true, encoding: 'utf8' }).filter((file) => /(^|\/)dto\/[^/]+\.ts$/.test(file));
  const storage = getMetadataStorage();
  const classes = files.flatMap((file) => Object.values(require(join(MODULES, file)) as Record<string, unknown>));
  return [...new Set(classes)].filter(
    (value): value is Function => typeof value === 'function' && storage.getTargetValidationMetadatas(value, '', true, false).length > 0,
  );
}

describe('null in request DTOs', () => {
  const dtos = validatedDtos();

  it('finds the DTOs', () => {
    expect(dtos.map((dto) => dto.name)).toEqual(expect.arrayContaining(['ChatRequestDto', 'UpdateGenerationRequestDto', 'ChatCompletionRequestDto', 'SslCertRequestDto']));
  });

  it('refuses null for every field, except the OpenAI fields where null means "not given" (then dropped)', () => {
    const storage = getMetadataStorage();
    const accepted: Record<string, string[]> = {};
    for (const dto of dtos) {
      const properties = new Set(storage.getTargetValidationMetadatas(dto, '', true, false).map((rule) => rule.propertyName));
      for (const property of properties) {
        const instance = plainToInstance(dto as new () => object, { [property]: null }) as Record<string, unknown>;
        const errors = validateSync(instance, { whitelist: true, forbidNonWhitelisted: true, forbidUnknownValues: true });
        if (errors.some((error) => error.property === property)) continue;
        expect({ dto: dto.name, property, value: instance[property] }).toEqual({ dto: dto.name, property, value: undefined });
        (accepted[dto.name] ??= []).push(property);
      }
    }
    expect(accepted).toEqual(NULL_AS_ABSENT);
  });
});
