import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import { IsBoolean, IsIn, IsInt, IsISO8601, IsString, Matches, Max, MaxLength, Min, MinLength } from 'class-validator';
import { IsOptionalNotNull } from '../../../common/validation/optional';
import { CONVERSATION_SOURCES, CONVERSATION_STATUSES, type ConversationSource } from '../../../core/persistence/conversation.entity';
import { SESSION_ID_PATTERN } from '../../chat/dto/chat-request.dto';

// Kept importable from here; it lives apart so the CLI can parse dates without loading Swagger.
export { parseIsoUtc } from '../iso-date';

const ISO_DATE = { strict: true, strictSeparator: true };
const SESSION_MESSAGE = 'session_id may only contain letters, digits, "_" and "-"';
const STATUS_NAME = `(${CONVERSATION_STATUSES.join('|')})`;
/** One status or a comma list of them, spaces allowed around each. */
const STATUS_LIST = new RegExp(`^\\s*${STATUS_NAME}\\s*(,\\s*${STATUS_NAME}\\s*)*$`);
const STATUS_MESSAGE = `status must be a comma-separated list of ${CONVERSATION_STATUSES.join(', ')}`;

/** "true"/"false" in a query string → boolean; anything else is left for @IsBoolean to refuse. */
const toBoolean = ({ value }: { value: unknown }) => (value === 'true' ? true : value === 'false' ? false : value);

/** The filters of `GET /history` and `GET /admin/export`. */
export class HistoryFilterQueryDto {
  @ApiPropertyOptional({
    description:
      "Only the exchanges made with this key (its id, as `key_id` on each row and in `GET /me`). A key with history:all may name any key; a key with history:own sees only its own exchanges anyway, and naming another key is refused with 403.",
    maxLength: 100,
  })
  @IsOptionalNotNull()
  @IsString({ message: 'key_id must be a key id' })
  @MinLength(1, { message: 'key_id must be a key id' })
  @MaxLength(100, { message: 'key_id must be a key id of at most 100 characters' })
  key_id?: string;

  @ApiPropertyOptional({ description: 'Only this session.', maxLength: 64, pattern: SESSION_ID_PATTERN.source })
  @IsOptionalNotNull()
  @IsString()
  @MaxLength(64)
  @Matches(SESSION_ID_PATTERN, { message: SESSION_MESSAGE })
  session_id?: string;

  @ApiPropertyOptional({ description: 'Only this source.', enum: CONVERSATION_SOURCES })
  @IsOptionalNotNull()
  @IsIn(CONVERSATION_SOURCES, { message: `source must be one of ${CONVERSATION_SOURCES.join(', ')}` })
  source?: ConversationSource;

  @ApiPropertyOptional({
    description: 'Only exchanges stored at or after this time (ISO 8601; UTC unless an offset is given), e.g. `2026-11-01T00:00:00Z`.',
  })
  @IsOptionalNotNull()
  @IsISO8601(ISO_DATE, { message: 'since must be an ISO 8601 date or date-time, e.g. 2026-11-01 or 2026-11-01T12:00:00Z' })
  since?: string;

  @ApiPropertyOptional({
    description: 'Only exchanges stored before this time (ISO 8601; UTC unless an offset is given), e.g. `2026-12-01`.',
  })
  @IsOptionalNotNull()
  @IsISO8601(ISO_DATE, { message: 'until must be an ISO 8601 date or date-time, e.g. 2026-12-01 or 2026-12-01T12:00:00Z' })
  until?: string;

  @ApiPropertyOptional({ description: 'Only reviewed (true) or unreviewed (false) exchanges.', type: Boolean })
  @IsOptionalNotNull()
  @Transform(toBoolean)
  @IsBoolean({ message: 'reviewed must be true or false' })
  reviewed?: boolean;

  @ApiPropertyOptional({ description: 'Only exchanges rated at least this much (1..5).', minimum: 1, maximum: 5 })
  @IsOptionalNotNull()
  @Type(() => Number)
  @IsInt({ message: 'min_rating must be an integer between 1 and 5' })
  @Min(1, { message: 'min_rating must be an integer between 1 and 5' })
  @Max(5, { message: 'min_rating must be an integer between 1 and 5' })
  min_rating?: number;

  @ApiPropertyOptional({
    description:
      'Only exchanges with one of these statuses (comma-separated): `ok` and `cached` were answered, `error` failed, `aborted` was cut short by the client or a shutdown. E.g. `ok,cached`.',
    maxLength: 100,
  })
  @IsOptionalNotNull()
  @IsString({ message: STATUS_MESSAGE })
  @MaxLength(100, { message: STATUS_MESSAGE })
  @Matches(STATUS_LIST, { message: STATUS_MESSAGE })
  status?: string;

  @ApiPropertyOptional({
    description:
      'Full-text search over prompt and response: words and "quoted phrases", all required (e.g. `breaker "half open"`); `word*` matches a prefix. Operators such as AND/OR/NOT are searched as plain words. Results are ranked answered exchanges (`ok`, `cached`) first, then failed ones, each by relevance (prompt matches weigh more), unless sort=newest.',
    maxLength: 500,
  })
  @IsOptionalNotNull()
  @IsString()
  @MinLength(1, { message: 'q must not be empty' })
  @MaxLength(500)
  q?: string;
}

export class HistoryQueryDto extends HistoryFilterQueryDto {
  @ApiPropertyOptional({ description: 'Page size, 1..500.', minimum: 1, maximum: 500, default: 50, example: 50 })
  @IsOptionalNotNull()
  @Type(() => Number)
  @IsInt({ message: 'limit must be an integer between 1 and 500' })
  @Min(1, { message: 'limit must be an integer between 1 and 500' })
  @Max(500, { message: 'limit must be an integer between 1 and 500' })
  limit?: number;

  @ApiPropertyOptional({ description: 'The `next_cursor` of the previous page.', maxLength: 400 })
  @IsOptionalNotNull()
  @IsString()
  @MaxLength(400, { message: 'cursor is not valid: pass back the next_cursor of a previous page' })
  cursor?: string;

  @ApiPropertyOptional({
    description: 'Order: `newest` first (the default without q), or `relevance` (the default with q; needs q).',
    enum: ['newest', 'relevance'],
  })
  @IsOptionalNotNull()
  @IsIn(['newest', 'relevance'], { message: 'sort must be newest or relevance' })
  sort?: 'newest' | 'relevance';
}

export class SessionQueryDto {
  @ApiPropertyOptional({ description: 'At most this many exchanges, 1..1000.', minimum: 1, maximum: 1000, default: 1000, example: 100 })
  @IsOptionalNotNull()
  @Type(() => Number)
  @IsInt({ message: 'limit must be an integer between 1 and 1000' })
  @Min(1, { message: 'limit must be an integer between 1 and 1000' })
  @Max(1000, { message: 'limit must be an integer between 1 and 1000' })
  limit?: number;

  @ApiPropertyOptional({ description: 'The `next_cursor` of the previous page of this session.', maxLength: 400 })
  @IsOptionalNotNull()
  @IsString()
  @MaxLength(400, { message: 'cursor is not valid: pass back the next_cursor of a previous page' })
  cursor?: string;
}

export class SessionParamDto {
  @ApiProperty({ description: 'The session id (the `session_id` of an answer).', maxLength: 64, pattern: SESSION_ID_PATTERN.source })
  @IsString()
  @MaxLength(64)
  @Matches(SESSION_ID_PATTERN, { message: SESSION_MESSAGE })
  session_id!: string;
}

export class ConversationIdParamDto {
  @ApiProperty({ description: 'The conversation id (the `conversation_id` of an answer, the `id` of a history item).', minimum: 1 })
  @Type(() => Number)
  @IsInt({ message: 'id must be a positive integer' })
  @Min(1, { message: 'id must be a positive integer' })
  @Max(Number.MAX_SAFE_INTEGER, { message: 'id must be a positive integer' })
  id!: number;
}
