import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

/**
 * Anthropic's request content blocks: what each role may send, checked by hand (a block is a
 * union on `type`, which class-validator cannot nest), each problem naming the block's path.
 * The classes below document them in the OpenAPI document.
 */

export const MAX_BLOCKS_PER_MESSAGE = 1000;
const IMAGE_MEDIA_TYPES = ['image/jpeg', 'image/png', 'image/gif', 'image/webp'];
/** Accepted on any block and ignored: prompt caching only changes Anthropic's billing. */
const CACHE_CONTROL = 'cache_control';

/** Blocks Anthropic has and Vega refuses, with the reason (the README lists them). */
const REFUSED_BLOCKS: Record<string, string> = {
  document: 'documents (PDF, text sources) are not supported: send the text as a text block',
  search_result: 'search results are not supported: send them as text',
  server_tool_use: "server tools run on Anthropic's servers; Vega has none",
  web_search_tool_result: "server tools run on Anthropic's servers; Vega has none",
  web_fetch_tool_result: "server tools run on Anthropic's servers; Vega has none",
  code_execution_tool_result: "server tools run on Anthropic's servers; Vega has none",
  container_upload: 'containers are not supported',
  mcp_tool_use: 'MCP connectors are not supported: run the MCP tools as client tools',
  mcp_tool_result: 'MCP connectors are not supported: run the MCP tools as client tools',
};

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json => value !== null && typeof value === 'object' && !Array.isArray(value);

function onlyKeys(object: Json, allowed: string[]): string | null {
  const extra = Object.keys(object).find((key) => key !== 'type' && key !== CACHE_CONTROL && !allowed.includes(key));
  return extra === undefined ? null : `.${extra} is not supported here`;
}

/** Why a message's `content` is not acceptable for its role, or null: a string, or a non-empty array of blocks. */
export function contentProblem(value: unknown, role: unknown): string | null {
  if (typeof value === 'string') return null;
  if (!Array.isArray(value) || value.length === 0) return 'content must be a string or a non-empty array of content blocks';
  if (value.length > MAX_BLOCKS_PER_MESSAGE) return `content must hold at most ${MAX_BLOCKS_PER_MESSAGE} blocks`;
  for (const [index, block] of value.entries()) {
    const problem = blockProblem(block, role);
    if (problem) return `content.${index}${problem}`;
  }
  return null;
}

function blockProblem(block: unknown, role: unknown): string | null {
  if (!isObject(block)) return ' must be an object';
  const type = block.type;
  switch (type) {
    case 'text':
      return onlyKeys(block, ['text', 'citations']) ?? (typeof block.text === 'string' ? null : '.text must be a string');
    case 'image':
      return role === 'user' ? imageProblem(block) : '.type image is only allowed in user messages';
    case 'tool_use':
      if (role !== 'assistant') return '.type tool_use is only allowed in assistant messages';
      return (
        onlyKeys(block, ['id', 'name', 'input']) ??
        (typeof block.id !== 'string' || !/^[A-Za-z0-9_-]{1,200}$/.test(block.id) ? '.id must be 1 to 200 letters, digits, underscores or dashes' : null) ??
        (typeof block.name !== 'string' || block.name.length === 0 ? '.name must be a non-empty string' : null) ??
        (isObject(block.input) ? null : '.input must be an object')
      );
    case 'tool_result':
      if (role !== 'user') return '.type tool_result is only allowed in user messages';
      return toolResultProblem(block);
    case 'thinking':
      if (role !== 'assistant') return '.type thinking is only allowed in assistant messages';
      return (
        onlyKeys(block, ['thinking', 'signature']) ??
        (typeof block.thinking === 'string' ? null : '.thinking must be a string') ??
        (block.signature === undefined || typeof block.signature === 'string' ? null : '.signature must be a string')
      );
    case 'redacted_thinking':
      if (role !== 'assistant') return '.type redacted_thinking is only allowed in assistant messages';
      return onlyKeys(block, ['data']) ?? (typeof block.data === 'string' ? null : '.data must be a string');
    default: {
      const refused = typeof type === 'string' && Object.hasOwn(REFUSED_BLOCKS, type) ? REFUSED_BLOCKS[type] : undefined;
      if (refused) return `.type ${type}: ${refused}`;
      const allowed = role === 'user' ? 'text, image or tool_result' : 'text, thinking, redacted_thinking or tool_use';
      return `.type must be one of ${allowed} (got ${JSON.stringify(type)})`;
    }
  }
}

function imageProblem(block: Json): string | null {
  const extra = onlyKeys(block, ['source']);
  if (extra) return extra;
  const source = block.source;
  if (!isObject(source)) return '.source must be an object';
  if (source.type === 'base64') {
    const inner = onlyKeys(source, ['media_type', 'data']);
    if (inner) return `.source${inner}`;
    if (!IMAGE_MEDIA_TYPES.includes(source.media_type as string)) return `.source.media_type must be one of ${IMAGE_MEDIA_TYPES.join(', ')}`;
    return typeof source.data === 'string' && source.data.length > 0 ? null : '.source.data must be a non-empty base64 string';
  }
  if (source.type === 'url') {
    const inner = onlyKeys(source, ['url']);
    if (inner) return `.source${inner}`;
    return typeof source.url === 'string' && /^https?:\/\//i.test(source.url) ? null : '.source.url must be an http(s) URL';
  }
  if (source.type === 'file') return '.source.type file: the Files API is not supported (send base64 or a URL)';
  return '.source.type must be base64 or url';
}

function toolResultProblem(block: Json): string | null {
  const extra = onlyKeys(block, ['tool_use_id', 'content', 'is_error']);
  if (extra) return extra;
  if (typeof block.tool_use_id !== 'string' || block.tool_use_id.length === 0) return '.tool_use_id must be a non-empty string';
  if (block.is_error !== undefined && typeof block.is_error !== 'boolean') return '.is_error must be a boolean';
  const content = block.content;
  if (content === undefined || typeof content === 'string') return null;
  if (!Array.isArray(content)) return '.content must be a string or an array of text and image blocks';
  for (const [index, inner] of content.entries()) {
    if (!isObject(inner) || (inner.type !== 'text' && inner.type !== 'image')) return `.content.${index}.type must be text or image`;
    const problem = blockProblem(inner, 'user');
    if (problem) return `.content.${index}${problem}`;
  }
  return null;
}

export class TextBlockDto {
  @ApiProperty({ enum: ['text'], example: 'text' })
  type!: 'text';

  @ApiProperty({ description: 'The text. The text blocks of a message are joined with a newline.', example: 'What is in this picture?' })
  text!: string;

  @ApiPropertyOptional({
    description: 'Prompt caching, on any block: accepted and ignored (it only changes what Anthropic bills).',
    type: 'object',
    properties: { type: { type: 'string', enum: ['ephemeral'] } },
    example: { type: 'ephemeral' },
  })
  cache_control?: unknown;
}

export class ImageSourceDto {
  @ApiProperty({ description: '`base64` (`media_type` and `data`) or `url` (Vega fetches it through its SSRF guard).', enum: ['base64', 'url'] })
  type!: 'base64' | 'url';

  @ApiPropertyOptional({ enum: IMAGE_MEDIA_TYPES, description: 'base64 only; checked against the bytes.' })
  media_type?: string;

  @ApiPropertyOptional({ description: 'base64 only: the image bytes as base64.' })
  data?: string;

  @ApiPropertyOptional({ description: 'url only: an http(s) URL (public addresses only, unless FETCH_ALLOW_PRIVATE / FETCH_ALLOW_HOSTS).' })
  url?: string;
}

export class ImageBlockDto {
  @ApiProperty({ enum: ['image'], description: 'User messages (and tool results) only; the model needs the `vision` capability.' })
  type!: 'image';

  @ApiProperty({ type: ImageSourceDto })
  source!: ImageSourceDto;
}

export class ToolUseBlockDto {
  @ApiProperty({ enum: ['tool_use'], description: 'Assistant messages only: a call the model made, sent back as history.' })
  type!: 'tool_use';

  @ApiProperty({ description: "The call's id, as Vega gave it; the tool_result answering it names it.", example: 'call_a1b2c3d4' })
  id!: string;

  @ApiProperty({ example: 'get_weather' })
  name!: string;

  @ApiProperty({ type: 'object', additionalProperties: true, example: { city: 'Oslo' } })
  input!: Record<string, unknown>;
}

export class ToolResultBlockDto {
  @ApiProperty({ enum: ['tool_result'], description: 'User messages only: the result of a tool_use of the assistant message before.' })
  type!: 'tool_result';

  @ApiProperty({ example: 'call_a1b2c3d4' })
  tool_use_id!: string;

  @ApiPropertyOptional({
    description: 'The result: a string, or text and image blocks.',
    oneOf: [{ type: 'string' }, { type: 'array', items: { type: 'object', additionalProperties: true } }],
    example: '14 °C and cloudy',
  })
  content?: unknown;

  @ApiPropertyOptional({ description: 'true: the tool failed; the model gets the content prefixed with "Error: " (Ollama has no such flag).' })
  is_error?: boolean;
}

export class ThinkingBlockDto {
  @ApiProperty({ enum: ['thinking'], description: "Assistant messages only: the turn's reasoning, sent back to the model as Ollama `thinking`." })
  type!: 'thinking';

  @ApiProperty()
  thinking!: string;

  @ApiPropertyOptional({ description: 'Accepted and not checked (Vega signs nothing).' })
  signature?: string;
}

export class RedactedThinkingBlockDto {
  @ApiProperty({ enum: ['redacted_thinking'], description: "Assistant messages only: Claude's encrypted reasoning. Accepted and not sent: no local model can read it." })
  type!: 'redacted_thinking';

  @ApiProperty()
  data!: string;
}

export const REQUEST_BLOCK_DTOS = [TextBlockDto, ImageBlockDto, ImageSourceDto, ToolUseBlockDto, ToolResultBlockDto, ThinkingBlockDto, RedactedThinkingBlockDto];
