import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsString, MaxLength } from 'class-validator';
import { IsOptionalNotNull } from '../../../common/validation/optional';
import { USAGE_DIMENSIONS, type UsageDimension, type UsageFigures, type UsageGroup } from '../../../core/persistence/usage.repository';
import { groupByMessage, timeMessage, type ResolvedUsageReport } from '../usage.service';

const GROUP_BY_MESSAGE = groupByMessage();

/** Strings here; the service parses them (the CLI passes the same strings), so the rules live once. */
export class UsageQueryDto {
  @ApiPropertyOptional({ description: 'Start of the range (ISO 8601 date or date-time, UTC unless an offset is given); default: 30 days before `to`.', example: '2026-11-01' })
  @IsOptionalNotNull()
  @IsString({ message: timeMessage('from') })
  @MaxLength(40, { message: timeMessage('from') })
  from?: string;

  @ApiPropertyOptional({ description: 'End of the range, exclusive; a date includes that whole day. Default: now.', example: '2026-11-30' })
  @IsOptionalNotNull()
  @IsString({ message: timeMessage('to') })
  @MaxLength(40, { message: timeMessage('to') })
  to?: string;

  @ApiPropertyOptional({ description: `One or two of ${USAGE_DIMENSIONS.join(', ')}, comma-separated; default: key.`, example: 'day,key' })
  @IsOptionalNotNull()
  @IsString({ message: GROUP_BY_MESSAGE })
  @MaxLength(40, { message: GROUP_BY_MESSAGE })
  group_by?: string;
}

export class UsageFiguresDto {
  @ApiProperty({ description: 'Stored exchanges.', example: 120 })
  requests!: number;

  @ApiProperty({ description: 'Prompt tokens.', example: 48000 })
  prompt_tokens!: number;

  @ApiProperty({ description: 'Completion tokens.', example: 21000 })
  completion_tokens!: number;

  @ApiProperty({ description: 'Prompt plus completion tokens.', example: 69000 })
  tokens!: number;

  @ApiProperty({ description: "The backend's time spent generating, in seconds (0 for answers from the cache).", example: 312.5 })
  model_seconds!: number;

  @ApiProperty({ description: 'Exchanges that ended in an error.', example: 2 })
  errors!: number;

  @ApiProperty({ description: "Median duration of the exchanges, in milliseconds (nearest rank); null without any.", nullable: true, type: Number, example: 1800 })
  p50_ms!: number | null;

  @ApiProperty({ description: '95th percentile of the duration, in milliseconds (nearest rank); null without any.', nullable: true, type: Number, example: 5400 })
  p95_ms!: number | null;
}

export class UsageGroupDto extends UsageFiguresDto {
  @ApiPropertyOptional({ description: 'With group_by key: the key id (`primary`, `extra-1` or a managed key id); null for exchanges made without a key (the CLI, integrations).', nullable: true, type: String })
  key_id?: string | null;

  @ApiPropertyOptional({ description: "With group_by key: the managed key's name, a bootstrap key's id.", nullable: true, type: String })
  key_name?: string | null;

  @ApiPropertyOptional({ description: 'With group_by model: the model.', nullable: true, type: String })
  model?: string | null;

  @ApiPropertyOptional({ description: 'With group_by day: the UTC day, YYYY-MM-DD.', example: '2026-11-03' })
  day?: string;

  @ApiPropertyOptional({ description: 'With group_by lane: where the exchange came from (api, cli, openai, ollama, anthropic, responses, integration).', example: 'openai' })
  lane?: string;
}

export class UsageReportDto {
  @ApiProperty({ description: 'Start of the range (ISO 8601, UTC), inclusive.', example: '2026-11-01T00:00:00.000Z' })
  from!: string;

  @ApiProperty({ description: 'End of the range (ISO 8601, UTC), exclusive.', example: '2026-12-01T00:00:00.000Z' })
  to!: string;

  @ApiProperty({ description: 'The dimensions grouped by, in order.', enum: USAGE_DIMENSIONS, isArray: true, example: ['day', 'key'] })
  group_by!: UsageDimension[];

  @ApiProperty({ description: 'One entry per group that has exchanges, ordered by the dimensions.', type: [UsageGroupDto] })
  groups!: UsageGroupDto[];

  @ApiProperty({ description: 'The whole range.', type: UsageFiguresDto })
  totals!: UsageFiguresDto;
}

function toFiguresDto(figures: UsageFigures): UsageFiguresDto {
  return {
    requests: figures.requests,
    prompt_tokens: figures.promptTokens,
    completion_tokens: figures.completionTokens,
    tokens: figures.promptTokens + figures.completionTokens,
    model_seconds: Math.round(figures.modelMs) / 1000,
    errors: figures.errors,
    p50_ms: figures.p50Ms,
    p95_ms: figures.p95Ms,
  };
}

function toGroupDto(group: UsageGroup, groupBy: readonly UsageDimension[]): UsageGroupDto {
  const dimensions: Partial<UsageGroupDto> = {};
  for (const dimension of groupBy) {
    if (dimension === 'key') Object.assign(dimensions, { key_id: group.keyId ?? null, key_name: group.keyName ?? null });
    else if (dimension === 'model') dimensions.model = group.model ?? null;
    else if (dimension === 'day') dimensions.day = group.day;
    else dimensions.lane = group.lane;
  }
  return { ...dimensions, ...toFiguresDto(group) };
}

/** The wire shape of a report (the API's JSON, and `vega usage --json`). */
export function toUsageReportDto(report: ResolvedUsageReport): UsageReportDto {
  return {
    from: report.from.toISOString(),
    to: report.to.toISOString(),
    group_by: report.groupBy,
    groups: report.groups.map((group) => toGroupDto(group, report.groupBy)),
    totals: toFiguresDto(report.totals),
  };
}
