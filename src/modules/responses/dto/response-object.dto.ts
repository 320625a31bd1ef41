import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, Matches } from 'class-validator';
import { IsOptionalNotNull } from '../../../common/validation/optional';
import { RESPONSE_ID_PATTERN } from './create-response-request.dto';

/** Token counts of a response. */
export class ResponseUsageDto {
  @ApiProperty({ description: 'Prompt tokens (Ollama `prompt_eval_count`).', example: 12 })
  input_tokens!: number;

  @ApiProperty({ description: '`{cached_tokens: 0}`: Ollama does not report a prompt cache hit.', example: { cached_tokens: 0 } })
  input_tokens_details!: { cached_tokens: number };

  @ApiProperty({ description: 'Generated tokens, reasoning included (Ollama `eval_count`).', example: 5 })
  output_tokens!: number;

  @ApiProperty({ description: '`{reasoning_tokens: 0}`: Ollama does not say how many of the output tokens were thinking.', example: { reasoning_tokens: 0 } })
  output_tokens_details!: { reasoning_tokens: number };

  @ApiProperty({ description: 'input_tokens + output_tokens.', example: 17 })
  total_tokens!: number;
}

/** One output item: a message, a function call or reasoning (documented together; `type` tells them apart). */
export class ResponseOutputItemDto {
  @ApiProperty({ description: '`message`, `function_call` or `reasoning`.', enum: ['message', 'function_call', 'reasoning'], example: 'message' })
  type!: string;

  @ApiProperty({ description: '`msg_…`, `fc_…` or `rs_…`, derived from the response id (the same on retrieval).', example: 'msg_6f1c2a9e0b7d4c3a5e8f9a1b' })
  id!: string;

  @ApiPropertyOptional({ description: 'message, function_call: `completed` (`incomplete` for a message cut at max_output_tokens; `in_progress` while streaming).', example: 'completed' })
  status?: string;

  @ApiPropertyOptional({ description: 'message: `assistant`.', example: 'assistant' })
  role?: string;

  @ApiPropertyOptional({
    description: 'message: one `{type: "output_text", text, annotations: [], logprobs: []}` part.',
    type: 'array',
    items: { type: 'object', additionalProperties: true },
    example: [{ type: 'output_text', text: 'Hello!', annotations: [], logprobs: [] }],
  })
  content?: Record<string, unknown>[];

  @ApiPropertyOptional({ description: 'function_call: the id a `function_call_output` answers with.', example: 'call_k2j4x9qa' })
  call_id?: string;

  @ApiPropertyOptional({ description: 'function_call: the function.', example: 'get_weather' })
  name?: string;

  @ApiPropertyOptional({ description: 'function_call: the arguments as a JSON string.', example: '{"city":"Oslo"}' })
  arguments?: string;

  @ApiPropertyOptional({
    description: "reasoning: the model's reasoning as one `summary_text` part (a local model writes no separate summary).",
    type: 'array',
    items: { type: 'object', additionalProperties: true },
    example: [{ type: 'summary_text', text: 'The user greets me.' }],
  })
  summary?: Record<string, unknown>[];
}

/** OpenAI's Response object (`POST /v1/responses`, `GET /v1/responses/{id}`, and inside the lifecycle events). */
export class ResponseObjectDto {
  @ApiProperty({ description: '`resp_…`; the stored exchange keeps it (history: `response_id`).', example: 'resp_6f1c2a9e0b7d4c3a5e8f9a1b' })
  id!: string;

  @ApiProperty({ description: 'Always `response`.', enum: ['response'] })
  object!: 'response';

  @ApiProperty({ description: 'Unix seconds.', example: 1767225600 })
  created_at!: number;

  @ApiPropertyOptional({ description: 'Unix seconds; once finished.', example: 1767225602 })
  completed_at?: number;

  @ApiProperty({
    description:
      '`completed`; `incomplete` (max_output_tokens or MAX_RESPONSE_CHARS reached); `failed` (the generation failed: `error`); `cancelled` (a stored response whose client left before the end); `in_progress` (only in the first stream events).',
    enum: ['completed', 'incomplete', 'failed', 'cancelled', 'in_progress'],
  })
  status!: string;

  @ApiProperty({ description: '`{code, message}` of a failed response, else null.', type: 'object', nullable: true, additionalProperties: true, example: null })
  error!: Record<string, unknown> | null;

  @ApiProperty({ description: '`{reason: "max_output_tokens"}` for an incomplete response, else null.', type: 'object', nullable: true, additionalProperties: true, example: null })
  incomplete_details!: Record<string, unknown> | null;

  @ApiProperty({ description: 'The instructions given; null on retrieval (they are stored as the first message of the exchange).', type: 'string', nullable: true })
  instructions!: string | null;

  @ApiProperty({ description: 'The token limit given, or null.', type: 'integer', nullable: true })
  max_output_tokens!: number | null;

  @ApiProperty({ example: 'mistral' })
  model!: string;

  @ApiProperty({ description: 'Reasoning (when the model thought), the message, then the function calls.', type: [ResponseOutputItemDto] })
  output!: ResponseOutputItemDto[];

  @ApiProperty()
  parallel_tool_calls!: boolean;

  @ApiProperty({ description: 'The response this one continued; null on retrieval (not kept apart from the conversation).', type: 'string', nullable: true })
  previous_response_id!: string | null;

  @ApiProperty({ description: '`{effort, summary: null}`: the effort as asked (null when not asked).', type: 'object', additionalProperties: true })
  reasoning!: Record<string, unknown>;

  @ApiProperty({ description: 'Always true: Vega stores every exchange.', example: true })
  store!: boolean;

  @ApiProperty({ type: 'number', nullable: true })
  temperature!: number | null;

  @ApiProperty({ description: '`{format: {type: text | json_object | json_schema, …}}`.', type: 'object', additionalProperties: true })
  text!: Record<string, unknown>;

  @ApiProperty({ description: '`auto`, `none`, `required` or `{type: "function", name}`.', oneOf: [{ type: 'string' }, { type: 'object' }] })
  tool_choice!: unknown;

  @ApiProperty({ description: 'The function tools offered (flat).', type: 'array', items: { type: 'object', additionalProperties: true } })
  tools!: Record<string, unknown>[];

  @ApiProperty({ type: 'number', nullable: true })
  top_p!: number | null;

  @ApiProperty({ description: 'Always `disabled`: a conversation too long for the context is refused (400), never cut.', enum: ['disabled'] })
  truncation!: string;

  @ApiProperty({ type: ResponseUsageDto, nullable: true })
  usage!: ResponseUsageDto | null;

  @ApiProperty({ type: 'string', nullable: true, example: null })
  user!: null;

  @ApiProperty({ description: 'Always `{}` (metadata is refused).', type: 'object', additionalProperties: false, example: {} })
  metadata!: Record<string, never>;
}

/** One event of a streamed response (documented together; `type` tells them apart). */
export class ResponseStreamEventDto {
  @ApiProperty({
    description:
      'The event type, also sent as the SSE `event:` name: response.created, response.in_progress, response.output_item.added, response.content_part.added, response.output_text.delta, response.output_text.done, response.content_part.done, response.reasoning_summary_part.added, response.reasoning_summary_text.delta, response.reasoning_summary_text.done, response.reasoning_summary_part.done, response.function_call_arguments.delta, response.function_call_arguments.done, response.output_item.done, then one of response.completed, response.incomplete, or error followed by response.failed.',
    example: 'response.output_text.delta',
  })
  type!: string;

  @ApiProperty({ description: '0, 1, 2… in the order sent.', example: 4 })
  sequence_number!: number;

  @ApiPropertyOptional({ description: 'Lifecycle events: the Response object.', type: ResponseObjectDto })
  response?: ResponseObjectDto;

  @ApiPropertyOptional({ description: 'Item events: the position of the item in `output`.', example: 0 })
  output_index?: number;

  @ApiPropertyOptional({ description: 'Part and delta events: the item they belong to.', example: 'msg_6f1c2a9e0b7d4c3a5e8f9a1b' })
  item_id?: string;

  @ApiPropertyOptional({ description: 'output_item.added / .done: the item.', type: ResponseOutputItemDto })
  item?: ResponseOutputItemDto;

  @ApiPropertyOptional({ description: 'Delta events: the new text or arguments.', example: 'Hel' })
  delta?: string;
}

export class DeletedResponseDto {
  @ApiProperty({ example: 'resp_6f1c2a9e0b7d4c3a5e8f9a1b' })
  id!: string;

  @ApiProperty({ enum: ['response'] })
  object!: 'response';

  @ApiProperty({ example: true })
  deleted!: true;
}

export class ResponseIdParamDto {
  // No example: Swagger UI's "Try it out" would send it, and no stored response has it.
  @ApiProperty({ description: 'The response id (`resp_…`), as `POST /v1/responses` answered it.', pattern: RESPONSE_ID_PATTERN.source })
  @Matches(RESPONSE_ID_PATTERN, { message: 'id must be a response id ("resp_…")' })
  id!: string;
}

export class RetrieveResponseQueryDto {
  @ApiPropertyOptional({
    description: 'Only `false`: replaying a stored response as events (`stream=true`, `starting_after`) is not supported; the Response object is.',
    enum: ['false'],
  })
  @IsOptionalNotNull()
  @IsIn(['false'], { message: 'stream=true is not supported: GET /v1/responses/{id} returns the stored Response object, not a replay of its events' })
  stream?: string;
}
