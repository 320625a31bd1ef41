import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsString, Matches, MaxLength } from 'class-validator';
import { IsOptionalNotNull } from '../../../common/validation/optional';
import { DATASET_FORMATS, type DatasetFormat } from '../../datasets/dataset-example';
import { HistoryFilterQueryDto } from '../../history/dto/history-query.dto';

const TAGS_MESSAGE = 'tags must be a comma-separated list naming at least one tag, e.g. good,concise (at most 500 characters)';

/** `GET /admin/export`: the history filters, tags, and an optional training-set format. */
export class ExportQueryDto extends HistoryFilterQueryDto {
  @ApiPropertyOptional({
    description:
      'Only exchanges carrying any of these tags (comma-separated). Stored tags are comma-separated text; each is trimmed and compared case-insensitively (ASCII letters). E.g. `good,concise`.',
    maxLength: 500,
  })
  @IsOptionalNotNull()
  @IsString({ message: TAGS_MESSAGE })
  @MaxLength(500, { message: TAGS_MESSAGE })
  @Matches(/[^,\s]/, { message: TAGS_MESSAGE })
  tags?: string;

  @ApiPropertyOptional({
    description:
      'Export a curated training set in this format instead of the raw conversations: only `ok` chats (no embedding calls or raw completions), exact and near-duplicate prompts removed (the newest kept), PII always masked. ' +
      '`chat` → `{messages}`, `alpaca` → `{instruction, input, output}`, `sharegpt` → `{conversations}`, `prompt-response` → `{prompt, response}`.',
    enum: DATASET_FORMATS,
  })
  @IsOptionalNotNull()
  @IsIn(DATASET_FORMATS, { message: `format must be one of ${DATASET_FORMATS.join(', ')}` })
  format?: DatasetFormat;
}

