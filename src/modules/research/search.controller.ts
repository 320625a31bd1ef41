import { Body, Controller, HttpCode, Post, Res } from '@nestjs/common';
import { RequireScope } from '../../common/auth/scopes.decorator';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { ApiFetchErrors } from '../../common/errors/api-errors.decorator';
import { clientGoneSignal } from '../../common/http/client-gone';
import { SearchRequestDto } from './dto/search-request.dto';
import { ImageSearchResponseDto, WebSearchResponseDto } from './dto/search-response.dto';
import { SearchService } from './search/search.service';

@ApiTags('research')
@RequireScope('research')
@Controller('search')
@ApiFetchErrors()
export class SearchController {
  constructor(private readonly search: SearchService) {}

  @Post('web')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Search the web',
    description: 'Asks the configured provider (SEARCH_PROVIDER: DuckDuckGo or SearXNG) and returns up to max_results results, each URL once.',
  })
  @ApiOkResponse({ type: WebSearchResponseDto })
  async web(@Body() body: SearchRequestDto, @Res({ passthrough: true }) reply: FastifyReply): Promise<WebSearchResponseDto> {
    const items = await this.search.web({ query: body.query, maxResults: body.max_results, safesearch: body.safesearch, signal: clientGoneSignal(reply) });
    return { items };
  }

  @Post('images')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Search for images',
    description: 'Asks the configured provider for images and returns up to max_results, each image URL once.',
  })
  @ApiOkResponse({ type: ImageSearchResponseDto })
  async images(@Body() body: SearchRequestDto, @Res({ passthrough: true }) reply: FastifyReply): Promise<ImageSearchResponseDto> {
    const items = await this.search.images({ query: body.query, maxResults: body.max_results, safesearch: body.safesearch, signal: clientGoneSignal(reply) });
    return { items };
  }
}
