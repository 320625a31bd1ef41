import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsISO8601, IsString, Matches, Max, MaxLength, Min } from 'class-validator';
import { IsOptionalNotNull } from '../../../common/validation/optional';
import { AUDIT_OUTCOMES, type AuditOutcome, type AuditRecord } from '../../../core/persistence/audit-log.repository';

const ISO_DATE = { strict: true, strictSeparator: true };
/** `/api/pull` or `POST /api/pull`. */
export const AUDIT_ROUTE_PATTERN = /^((GET|HEAD|POST|PUT|PATCH|DELETE) )?\/[A-Za-z0-9/:_.-]{1,100}$/;
const ROUTE_MESSAGE = 'route must be a path such as /api/pull, optionally after its method (DELETE /api/delete)';

export class AuditQueryDto {
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

  @ApiPropertyOptional({ description: 'Only this route: a path (any method), or a method and path.', example: '/api/pull', maxLength: 110 })
  @IsOptionalNotNull()
  @IsString({ message: ROUTE_MESSAGE })
  @Matches(AUDIT_ROUTE_PATTERN, { message: ROUTE_MESSAGE })
  route?: string;

  @ApiPropertyOptional({ description: 'Only calls with this outcome.', enum: AUDIT_OUTCOMES })
  @IsOptionalNotNull()
  @IsIn(AUDIT_OUTCOMES, { message: `outcome must be one of ${AUDIT_OUTCOMES.join(', ')}` })
  outcome?: AuditOutcome;

  @ApiPropertyOptional({ description: 'Only calls made at or after this time (ISO 8601; UTC unless an offset is given).', example: '2026-12-01T00:00:00Z' })
  @IsOptionalNotNull()
  @IsISO8601(ISO_DATE, { message: 'since must be an ISO 8601 date or date-time, e.g. 2026-11-01 or 2026-11-01T12:00:00Z' })
  since?: string;
}

export class AuditEntryDto {
  @ApiProperty({ description: 'Entry id (grows with time).', example: 42 })
  id!: number;

  @ApiProperty({ description: 'When the call started (ISO 8601, UTC).', example: '2026-12-06T09:15:02.311Z' })
  at!: string;

  @ApiProperty({ description: 'The id of the API key that made the call (`primary`, `extra-1`…), never the key.', example: 'primary' })
  key_id!: string;

  @ApiProperty({ description: 'Method and route.', example: 'POST /api/pull' })
  route!: string;

  @ApiProperty({ description: 'The models the call names (source then destination for a copy; none for a blob).', type: [String], example: ['llama3.2'] })
  models!: string[];

  @ApiProperty({ description: '`ok`, `error` (refused or failed, also mid-stream) or `aborted` (the client went away).', enum: AUDIT_OUTCOMES })
  outcome!: AuditOutcome;

  @ApiProperty({ description: 'The HTTP status the client got (200 for a stream that ended with an error line).', example: 200 })
  status!: number;

  @ApiProperty({ description: 'How long the call took, in milliseconds.', example: 5230 })
  duration_ms!: number;

  @ApiProperty({ description: 'A short note: the error, the blob digest and size, the base model of a create.', nullable: true, type: String, example: null })
  detail!: string | null;
}

export class AuditPageDto {
  @ApiProperty({ description: 'The page, newest first.', type: [AuditEntryDto] })
  items!: AuditEntryDto[];

  @ApiProperty({ description: 'Opaque cursor for the next page (pass it as `cursor`); null on the last page.', nullable: true, type: String, example: null })
  next_cursor!: string | null;
}

export function toAuditEntryDto(record: AuditRecord): AuditEntryDto {
  return {
    id: record.id,
    at: record.at.toISOString(),
    key_id: record.keyId,
    route: record.route,
    models: record.models,
    outcome: record.outcome,
    status: record.status,
    duration_ms: record.durationMs,
    detail: record.detail,
  };
}
