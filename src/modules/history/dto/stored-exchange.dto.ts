import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { EXCHANGE_KINDS } from '../../../core/persistence/stored-exchange';
import { ConversationDto } from './conversation.dto';

export class StoredImageDto {
  @ApiProperty({ description: 'Image type, sniffed from the bytes.', example: 'image/png' })
  mime!: string;

  @ApiProperty({ description: 'Size of the image in bytes.', example: 48213 })
  bytes!: number;

  @ApiProperty({ description: 'Hex SHA-256 of the bytes: which image it was.', example: '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08' })
  sha256!: string;

  @ApiPropertyOptional({ description: 'The bytes as base64; only stored with STORE_IMAGES=true.' })
  data?: string;
}

export class StoredToolCallDto {
  @ApiProperty({ description: 'The call id.', example: 'call_8f2a1c3d' })
  id!: string;

  @ApiProperty({ description: 'The function called.', example: 'get_weather' })
  name!: string;

  @ApiProperty({ description: 'The arguments as an object (strings PII-masked when PII_MASKING is on).', type: 'object', additionalProperties: true, example: { city: 'Lyon' } })
  arguments!: Record<string, unknown>;
}

export class StoredMessageDto {
  @ApiProperty({ description: 'Who wrote it.', enum: ['system', 'user', 'assistant', 'tool'], example: 'user' })
  role!: string;

  @ApiProperty({ description: 'The text (a tool message: the tool result).', example: 'What is the weather in Lyon?' })
  content!: string;

  @ApiPropertyOptional({ description: 'Images with the message, as references.', type: [StoredImageDto] })
  images?: StoredImageDto[];

  @ApiPropertyOptional({ description: "An earlier assistant turn's reasoning." })
  thinking?: string;

  @ApiPropertyOptional({ description: 'The calls an assistant turn made.', type: [StoredToolCallDto] })
  tool_calls?: StoredToolCallDto[];

  @ApiPropertyOptional({ description: 'A tool message: the call it answers.', example: 'call_8f2a1c3d' })
  tool_call_id?: string;

  @ApiPropertyOptional({ description: 'A tool message: the function that produced it.', example: 'get_weather' })
  tool_name?: string;
}

export class StoredToolDto {
  @ApiProperty({ description: 'Function name.', example: 'get_weather' })
  name!: string;

  @ApiPropertyOptional({ description: 'What it does.' })
  description?: string;

  @ApiPropertyOptional({ description: 'JSON Schema of its arguments.', type: 'object', additionalProperties: true })
  parameters?: Record<string, unknown>;
}

/** The whole request as the backend was asked; fields the request did not set are absent. */
export class StoredRequestDto {
  @ApiProperty({ description: 'The model asked.', example: 'mistral' })
  model!: string;

  @ApiPropertyOptional({ description: 'A chat: every message sent, system prompt and session memory included.', type: [StoredMessageDto] })
  messages?: StoredMessageDto[];

  @ApiPropertyOptional({ description: 'A completion: the prompt.' })
  prompt?: string;

  @ApiPropertyOptional({ description: 'A completion: the text after the insertion point.' })
  suffix?: string;

  @ApiPropertyOptional({ description: "A completion (Ollama `/api/generate`): the system prompt it set in place of the Modelfile's." })
  system?: string;

  @ApiPropertyOptional({ description: "A completion (Ollama `/api/generate`): the prompt template it set in place of the Modelfile's." })
  template?: string;

  @ApiPropertyOptional({ description: 'A completion (Ollama `/api/generate`): true when the prompt went to the model without any template.' })
  raw?: boolean;

  @ApiPropertyOptional({ description: "A completion (Ollama `/api/generate`): how many token ids of an earlier answer's `context` it continued from." })
  context_tokens?: number;

  @ApiPropertyOptional({ description: 'A completion: its images, as references.', type: [StoredImageDto] })
  images?: StoredImageDto[];

  @ApiPropertyOptional({ description: 'An embedding call: the input texts.', type: [String] })
  input?: string[];

  @ApiPropertyOptional({ description: 'An embedding call: the dimensions asked for.' })
  dimensions?: number;

  @ApiPropertyOptional({ description: 'An embedding call: whether over-long inputs were cut.' })
  truncate?: boolean;

  @ApiPropertyOptional({ description: 'Backend generation options (temperature, num_ctx…).', type: 'object', additionalProperties: true })
  options?: Record<string, unknown>;

  @ApiPropertyOptional({ description: 'The functions offered.', type: [StoredToolDto] })
  tools?: StoredToolDto[];

  @ApiPropertyOptional({ description: '`auto`, `none`, `required`, or `{"name": …}`.', oneOf: [{ type: 'string' }, { type: 'object' }] })
  tool_choice?: string | { name: string };

  @ApiPropertyOptional({ description: 'false: at most one tool call.' })
  parallel_tool_calls?: boolean;

  @ApiPropertyOptional({ description: '`json`, or `{"schema": …, "name"?, "strict"?}`.', oneOf: [{ type: 'string' }, { type: 'object' }] })
  format?: unknown;

  @ApiPropertyOptional({ description: 'Thinking: true/false or low/medium/high/max.', oneOf: [{ type: 'boolean' }, { type: 'string' }] })
  think?: boolean | string;

  @ApiPropertyOptional({ description: 'How long the model stays loaded.', oneOf: [{ type: 'string' }, { type: 'number' }] })
  keep_alive?: string | number;

  @ApiPropertyOptional({ description: 'Whether log probabilities were asked for (they are not stored).' })
  logprobs?: boolean;

  @ApiPropertyOptional({ description: 'How many alternatives per token were asked for.' })
  top_logprobs?: number;
}

/** The whole answer as far as it went; no log probabilities, token counts in the row's own fields. */
export class StoredAnswerDto {
  @ApiPropertyOptional({ description: 'The answer text (partial for an aborted or failed exchange).' })
  text?: string;

  @ApiPropertyOptional({ description: "The model's reasoning." })
  thinking?: string;

  @ApiPropertyOptional({ description: 'The calls the model asked for.', type: [StoredToolCallDto] })
  tool_calls?: StoredToolCallDto[];

  @ApiPropertyOptional({ description: 'Why it ended: stop, length, tool_calls (absent when it did not end on its own).', example: 'stop' })
  finish_reason?: string;

  @ApiPropertyOptional({ description: 'The stop sequence the answer ended at (the answer ends before it), when the client asked for stop sequences that Vega watched for.', example: '###' })
  stop_sequence?: string;

  @ApiPropertyOptional({ description: 'An embedding call: how many vectors it returned (the vectors are not stored).', example: 3 })
  inputs?: number;

  @ApiPropertyOptional({ description: "An embedding call: each vector's length.", example: 768 })
  dimensions?: number;
}

/** One exchange in full (`GET /conversations/{id}`). */
export class ConversationExchangeDto extends ConversationDto {
  @ApiProperty({ description: 'What the exchange was.', enum: EXCHANGE_KINDS, example: 'chat' })
  kind!: string;

  @ApiProperty({ description: 'The whole request; null for exchanges stored before Vega kept it.', type: StoredRequestDto, nullable: true })
  request!: StoredRequestDto | null;

  @ApiProperty({ description: 'The whole answer; null for exchanges stored before Vega kept it.', type: StoredAnswerDto, nullable: true })
  answer!: StoredAnswerDto | null;

  @ApiProperty({
    description: 'The `resp_…` id of an exchange of the Responses API (`/v1/responses`), what `GET /v1/responses/{id}` finds it by; null for the other routes.',
    type: 'string',
    nullable: true,
    example: null,
  })
  response_id!: string | null;
}
