import { ApiProperty } from '@nestjs/swagger';
import { SCOPES, type Principal } from '../../../common/auth/principal';
import { limitsToWire } from '../../../common/auth/key-limits';
import { KeyLimitsDto } from './api-key.dto';

export class MeResponseDto {
  @ApiProperty({ description: 'The key id: `primary`, `extra-1`… for the environment\'s keys, `key_…` for managed keys.', example: 'primary' })
  key_id!: string;

  @ApiProperty({ description: 'The key\'s name (an environment key\'s is its id).', example: 'primary' })
  name!: string;

  @ApiProperty({ description: '`bootstrap`: a key from the environment (every scope); `managed`: a key from `/admin/keys`.', enum: ['bootstrap', 'managed'] })
  kind!: 'bootstrap' | 'managed';

  @ApiProperty({ description: 'What the key may do.', type: [String], enum: SCOPES, example: [...SCOPES] })
  scopes!: string[];

  @ApiProperty({ description: 'The models the key may use; null: every model.', type: [String], nullable: true, example: null })
  models!: string[] | null;

  @ApiProperty({ description: 'The limits set for this key; an absent one takes the configured default (0: none).', type: KeyLimitsDto })
  limits!: KeyLimitsDto;
}

export function toMeDto(principal: Principal): MeResponseDto {
  return {
    key_id: principal.keyId,
    name: principal.name,
    kind: principal.kind,
    scopes: SCOPES.filter((scope) => principal.scopes.has(scope)),
    models: principal.models === null ? null : [...principal.models],
    limits: limitsToWire(principal.limits),
  };
}
