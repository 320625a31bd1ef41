import { ApiProperty } from '@nestjs/swagger';
import { IsInt, Max, Min } from 'class-validator';

export class BackupResponseDto {
  @ApiProperty({ description: 'The backup file, in <data dir>/backups.', example: '/var/lib/vega/backups/vega-20261124-101530-123-1a2b.db' })
  path!: string;

  @ApiProperty({ description: 'Its size in bytes.', example: 1048576 })
  size_bytes!: number;

  @ApiProperty({ description: 'When it was made (ISO 8601).', example: '2026-11-24T10:15:30.123Z' })
  created_at!: string;
}

const DAYS_RANGE = { message: 'older_than_days must be between 1 and 36500' };

export class PurgeRequestDto {
  @ApiProperty({ description: 'Delete conversations stored more than this many days ago, 1..36500.', minimum: 1, maximum: 36500, example: 90 })
  @IsInt({ message: 'older_than_days must be an integer (days, 1..36500)' })
  @Min(1, DAYS_RANGE)
  @Max(36500, DAYS_RANGE)
  older_than_days!: number;
}

export class PurgeResponseDto {
  @ApiProperty({ description: 'Conversations deleted (also from the search index).', example: 1200 })
  deleted!: number;

  @ApiProperty({ description: 'The cut-off: conversations stored before this time were deleted (ISO 8601).', example: '2026-08-26T10:15:30.123Z' })
  before!: string;
}
