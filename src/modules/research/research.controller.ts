import { Body, Controller, HttpCode, Post, Res } from '@nestjs/common';
import { RequireScope } from '../../common/auth/scopes.decorator';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { ApiErrors } from '../../common/errors/api-errors.decorator';
import { clientGoneSignal } from '../../common/http/client-gone';
import { RagResponseDto, ResearchRequestDto, SummarizeResponseDto } from './dto/research.dto';
import { ResearchService } from './research.service';

@ApiTags('research')
@RequireScope('research')
@Controller('research')
@ApiErrors(
  400,
  401,
  404,
  429,
  [502, 'The search provider or the model backend failed (a page that fails is listed with its error instead).'],
  503,
  [504, 'The search provider or the model backend timed out.'],
)
export class ResearchController {
  constructor(private readonly research: ResearchService) {}

  @Post('summarize')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Search, read the top pages and summarize them with citations',
    description:
      'Searches the web, fetches the top max_results pages concurrently through the SSRF-guarded fetcher, extracts their readable text (at most 3000 characters each) and asks the model for a summary citing the sources as [n]; items[n-1] is source n. Pages that fail are listed with their error, and their search snippet is used.',
  })
  @ApiOkResponse({ type: SummarizeResponseDto })
  async summarize(@Body() body: ResearchRequestDto, @Res({ passthrough: true }) reply: FastifyReply): Promise<SummarizeResponseDto> {
    return this.research.summarize({ query: body.query, maxResults: body.max_results, signal: clientGoneSignal(reply) });
  }

  @Post('rag')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Answer a question from the most relevant passages of the top pages',
    description:
      'Searches, fetches the pages, splits them into overlapping chunks, ranks the chunks against the query with BM25 (blended with embedding similarity when EMBED_MODEL is set) and answers from the best six with [n] citations; sources[n-1] is source n.',
  })
  @ApiOkResponse({ type: RagResponseDto })
  async rag(@Body() body: ResearchRequestDto, @Res({ passthrough: true }) reply: FastifyReply): Promise<RagResponseDto> {
    return this.research.rag({ query: body.query, maxResults: body.max_results, signal: clientGoneSignal(reply) });
  }
}
