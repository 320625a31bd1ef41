import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Allow, IsIn } from 'class-validator';
import { SCOPES } from '../../../common/auth/principal';
import { IsOptionalNotNull } from '../../../common/validation/optional';
import { keyStatus, type ApiKeyRecord, type KeyStatus } from '../../../core/persistence/api-key-record';
import { limitsToWire } from '../../../common/auth/key-limits';

const SCOPE_LIST = SCOPES.join(', ');

export class KeyLimitsDto {
  @ApiPropertyOptional({ description: 'Requests per minute (sliding minute, all routes).', example: 60 })
  requests_per_minute?: number;
  @ApiPropertyOptional({ description: 'Prompt plus completion tokens per minute.', example: 20000 })
  tokens_per_minute?: number;
  @ApiPropertyOptional({ description: 'Generations running at once.', example: 2 })
  concurrent_streams?: number;
  @ApiPropertyOptional({ description: 'Tokens per UTC day.', example: 200000 })
  tokens_per_day?: number;
  @ApiPropertyOptional({ description: 'Tokens per UTC month.', example: 5000000 })
  tokens_per_month?: number;
  @ApiPropertyOptional({ description: "Seconds of the backend's generation time per UTC day.", example: 3600 })
  model_seconds_per_day?: number;
}

const LIMITS_DESCRIPTION =
  'Only the limits set for this key; an absent one takes the configured default. 0: no limit.';

export class ApiKeyDto {
  @ApiProperty({ description: 'The key id (`key_` and 16 hex digits): what exchanges, usage and the audit log record.', example: 'key_3f9a0c1b7d2e4f56' })
  id!: string;

  @ApiProperty({ description: 'A unique name.', example: 'alice-laptop' })
  name!: string;

  @ApiProperty({ description: "The secret's first 10 characters, to recognise the key; not enough to use it.", example: 'vk-Qm9vYmE' })
  prefix!: string;

  @ApiProperty({ description: '`revoked` once revoked, else `expired` once past `expires_at`, else `active`.', enum: ['active', 'revoked', 'expired'] })
  status!: KeyStatus;

  @ApiProperty({ description: `What the key may do: ${SCOPE_LIST}.`, type: [String], enum: SCOPES, example: ['chat', 'history:own'] })
  scopes!: string[];

  @ApiProperty({ description: 'The models the key may use; null: every model.', type: [String], nullable: true, example: null })
  models!: string[] | null;

  @ApiProperty({ description: LIMITS_DESCRIPTION, type: KeyLimitsDto })
  limits!: KeyLimitsDto;

  @ApiProperty({ description: 'When the key stops working (ISO 8601 UTC); null: never.', type: String, nullable: true, example: null })
  expires_at!: string | null;

  @ApiProperty({ description: 'ISO 8601 UTC.', example: '2026-12-06T09:15:02.311Z' })
  created_at!: string;

  @ApiProperty({ description: 'The last change (ISO 8601 UTC).', example: '2026-12-06T09:15:02.311Z' })
  updated_at!: string;

  @ApiProperty({ description: 'The last request made with it, to the minute (ISO 8601 UTC); null: never used.', type: String, nullable: true, example: null })
  last_used_at!: string | null;

  @ApiProperty({ description: 'When it was revoked (ISO 8601 UTC); null: not revoked.', type: String, nullable: true, example: null })
  revoked_at!: string | null;
}

export class IssuedApiKeyDto extends ApiKeyDto {
  @ApiProperty({ description: 'The secret: shown here once and never again (only its digest is stored). Store it now.', example: 'vk-Qm9vYmFyYmF6cXV4cXV1eHF1dXhxdXV4cXV1eHE' })
  secret!: string;
}

export class ApiKeyListDto {
  @ApiProperty({ description: 'The managed keys, oldest first (the environment\'s keys are configuration and are not listed).', type: [ApiKeyDto] })
  items!: ApiKeyDto[];
}

// The fields are checked by the service (the CLI hands it the same values): `@Allow()` only
// admits them past the pipe, which still refuses any field not declared here.
export class CreateApiKeyRequestDto {
  @ApiProperty({ description: 'A unique name: 1 to 64 letters, digits, ".", "_" or "-".', example: 'alice-laptop' })
  @Allow()
  name!: string;

  @ApiProperty({ description: `One or more of: ${SCOPE_LIST}.`, type: [String], enum: SCOPES, example: ['chat', 'history:own'] })
  @Allow()
  scopes!: string[];

  @ApiPropertyOptional({ description: 'The models the key may use; absent or null: every model.', type: [String], nullable: true, example: ['llama3.2'] })
  @Allow()
  models?: string[] | null;

  @ApiPropertyOptional({ description: 'Limits (whole numbers; 0: none); an absent one takes the configured default.', type: KeyLimitsDto })
  @Allow()
  limits?: KeyLimitsDto;

  @ApiPropertyOptional({ description: 'When the key stops working: an ISO 8601 date or date-time in the future (UTC unless an offset is given); absent or null: never.', type: String, nullable: true, example: '2099-01-01T00:00:00Z' })
  @Allow()
  expires_at?: string | null;
}

export class UpdateApiKeyRequestDto {
  @ApiPropertyOptional({ description: 'A new unique name.', example: 'alice-laptop' })
  @Allow()
  name?: string;

  @ApiPropertyOptional({ description: `The scopes, replacing the old ones: ${SCOPE_LIST}.`, type: [String], enum: SCOPES })
  @Allow()
  scopes?: string[];

  @ApiPropertyOptional({ description: 'The allowed models, replacing the old list; null: every model.', type: [String], nullable: true, example: ['llama3.2', 'mistral'] })
  @Allow()
  models?: string[] | null;

  @ApiPropertyOptional({ description: 'Limits to change: a number sets one (0: none), null brings back the configured default; limits not named stay.', type: KeyLimitsDto })
  @Allow()
  limits?: Record<string, number | null>;

  @ApiPropertyOptional({ description: 'A new expiry in the future, or null for never.', type: String, nullable: true, example: '2099-06-30T00:00:00Z' })
  @Allow()
  expires_at?: string | null;
}

export class ListApiKeysQueryDto {
  @ApiPropertyOptional({ description: 'Also list revoked keys.', enum: ['true', 'false'], default: 'false' })
  @IsOptionalNotNull()
  @IsIn(['true', 'false'], { message: 'include_revoked must be true or false' })
  include_revoked?: 'true' | 'false';
}

export function toApiKeyDto(key: ApiKeyRecord, now = new Date()): ApiKeyDto {
  const iso = (date: Date | null) => date?.toISOString() ?? null;
  return {
    id: key.id,
    name: key.name,
    prefix: key.prefix,
    status: keyStatus(key, now),
    scopes: [...key.scopes],
    models: key.models === null ? null : [...key.models],
    limits: limitsToWire(key.limits),
    expires_at: iso(key.expiresAt),
    created_at: key.createdAt.toISOString(),
    updated_at: key.updatedAt.toISOString(),
    last_used_at: iso(key.lastUsedAt),
    revoked_at: iso(key.revokedAt),
  };
}
