import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsInt, Max, Min } from 'class-validator';
import { IsOptionalNotNull } from '../../../common/validation/optional';
import { QueryDto } from './search-request.dto';

/** `POST /research/summarize` and `POST /research/rag`: `query` is the question to research. */
export class ResearchRequestDto extends QueryDto {
  @ApiPropertyOptional({ description: 'How many search results to read (each page is fetched).', minimum: 1, maximum: 10, default: 5 })
  @IsOptionalNotNull()
  @IsInt()
  @Min(1)
  @Max(10)
  max_results: number = 5;
}

export class SummarizeItemDto {
  @ApiProperty({ description: 'Source number, as cited in the summary: items[n-1] is source n.', example: 1 })
  n!: number;

  @ApiProperty({ description: 'Title from the search result.', example: 'Circuit Breaker - Martin Fowler' })
  title!: string;

  @ApiProperty({ description: 'Page URL.', example: 'https://martinfowler.com/bliki/CircuitBreaker.html' })
  href!: string;

  @ApiProperty({ description: "The search provider's snippet.", example: 'You wrap a protected function call in a circuit breaker object…' })
  snippet!: string;

  @ApiProperty({ description: 'The search provider.', example: 'duckduckgo' })
  source!: string;

  @ApiProperty({ description: 'Characters of the page text given to the model (at most 3000; 0 when the page failed).', example: 2417 })
  chars!: number;

  @ApiProperty({
    description: 'Why the page could not be read (its snippet was used instead), or null.',
    example: null,
    type: String,
    nullable: true,
  })
  error!: string | null;
}

export class SummarizeResponseDto {
  @ApiProperty({ description: 'The model\'s summary, citing sources as [n].', example: 'A circuit breaker wraps a remote call and stops calling after repeated failures [1][2].' })
  summary!: string;

  @ApiProperty({ description: 'The sources in citation order, including the ones that failed.', type: [SummarizeItemDto] })
  items!: SummarizeItemDto[];
}

export class RagSourceDto {
  @ApiProperty({ description: 'Source number, as cited in the answer.', example: 1 })
  n!: number;

  @ApiProperty({ description: 'The page the excerpt comes from.', example: 'https://martinfowler.com/bliki/CircuitBreaker.html' })
  url!: string;

  @ApiProperty({ description: 'Page title.', example: 'Circuit Breaker - Martin Fowler' })
  title!: string;

  @ApiProperty({ description: 'The excerpt (chunk) the model was given, cut to 300 characters.', example: 'Once the failures reach a certain threshold, the circuit breaker trips…' })
  snippet!: string;
}

export class FailedPageDto {
  @ApiProperty({ description: 'Page URL.', example: 'https://example.com/slow' })
  url!: string;

  @ApiProperty({ description: 'Why it could not be read.', example: 'https://example.com/slow did not answer within 10 s' })
  error!: string;
}

export class RagResponseDto {
  @ApiProperty({ description: 'The model\'s answer, citing sources as [n].', example: 'After a threshold of failures the breaker opens [1] and later lets a trial call through [2].' })
  summary!: string;

  @ApiProperty({ description: 'The excerpts given to the model, best first: sources[n-1] is source n.', type: [RagSourceDto] })
  sources!: RagSourceDto[];

  @ApiProperty({
    description: 'How the excerpts were ranked: BM25 alone, or blended with embedding similarity (EMBED_MODEL set and available).',
    enum: ['bm25', 'bm25+embeddings'],
  })
  ranking!: string;

  @ApiProperty({ description: 'Pages that could not be read (their search snippets were used instead).', type: [FailedPageDto] })
  failed!: FailedPageDto[];
}
