import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsInt, IsString, Max, MaxLength, Min, MinLength } from 'class-validator';
import { IsOptionalNotNull } from '../../../common/validation/optional';
import { SAFESEARCH_LEVELS, type SafeSearch } from '../search/search-provider';

export const MAX_QUERY_CHARS = 500;

/** The `query` every search and research request carries. */
export class QueryDto {
  @ApiProperty({ description: 'What to search for.', example: 'circuit breaker pattern', minLength: 1, maxLength: MAX_QUERY_CHARS })
  @IsString()
  @MinLength(1, { message: 'query must not be empty' })
  @MaxLength(MAX_QUERY_CHARS)
  query!: string;
}

/** `POST /search/web` and `POST /search/images`. */
export class SearchRequestDto extends QueryDto {
  @ApiPropertyOptional({ description: 'How many results to return (after removing repeated URLs).', minimum: 1, maximum: 20, default: 5 })
  @IsOptionalNotNull()
  @IsInt()
  @Min(1)
  @Max(20)
  max_results: number = 5;

  @ApiPropertyOptional({ description: 'Safe-search level passed to the provider.', enum: SAFESEARCH_LEVELS, default: 'moderate' })
  @IsOptionalNotNull()
  @IsIn(SAFESEARCH_LEVELS, { message: `safesearch must be one of ${SAFESEARCH_LEVELS.join(', ')}` })
  safesearch: SafeSearch = 'moderate';
}
