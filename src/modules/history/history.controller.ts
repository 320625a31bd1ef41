import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { HistoryScope } from '../../common/auth/scopes.decorator';
import { ApiNoContentResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiErrors } from '../../common/errors/api-errors.decorator';
import { toConversationDto, toHistoryItemDto } from './conversation.mapper';
import { ConversationDto, HistoryPageDto, SessionPageDto } from './dto/conversation.dto';
import { FeedbackRequestDto } from './dto/feedback-request.dto';
import { ConversationExchangeDto } from './dto/stored-exchange.dto';
import { toExchangeDto } from './stored-exchange.mapper';
import {
  ConversationIdParamDto,
  HistoryFilterQueryDto,
  HistoryQueryDto,
  parseIsoUtc,
  SessionParamDto,
  SessionQueryDto,
} from './dto/history-query.dto';
import type { ConversationStatus } from '../../core/persistence/conversation.entity';
import { HistoryQuery, HistoryService } from './history.service';

/** The query-string filters as the service's terms; shared with the admin export. */
export function toHistoryQuery(dto: HistoryFilterQueryDto): HistoryQuery {
  return {
    keyId: dto.key_id,
    sessionId: dto.session_id,
    source: dto.source,
    since: parseIsoUtc(dto.since),
    until: parseIsoUtc(dto.until),
    reviewed: dto.reviewed,
    minRating: dto.min_rating,
    // The DTO has checked that each entry is a status.
    statuses: dto.status?.split(',').map((status) => status.trim() as ConversationStatus),
    q: dto.q,
  };
}

@ApiTags('history')
@HistoryScope()
@Controller()
@ApiErrors(400, 401, 429)
export class HistoryController {
  constructor(private readonly history: HistoryService) {}

  @Get('history')
  @ApiOperation({
    summary: 'Stored exchanges, newest first, or searched',
    description:
      'Pages with `limit` and the opaque `cursor` (the previous `next_cursor`): newest first by id, so rows stored meanwhile never repeat or skip a row. ' +
      'With `q`, a full-text search over prompt and response: answered exchanges (`ok`, `cached`) first, then failed ones (`error`, `aborted`), each most relevant first (prompt matches weigh more), each item with a highlighted `snippet`; ' +
      'relevance pages stay within the rows that existed at the first page. `sort=newest` lists the matches newest first instead. ' +
      'An unbalanced quote or a `q` without any word is refused with 400.',
  })
  @ApiOkResponse({ type: HistoryPageDto })
  async list(@Query() query: HistoryQueryDto): Promise<HistoryPageDto> {
    const page = await this.history.page(toHistoryQuery(query), { limit: query.limit ?? 50, cursor: query.cursor }, query.sort);
    return { items: page.items.map(toHistoryItemDto), next_cursor: page.nextCursor };
  }

  @Get('session/:session_id')
  @ApiOperation({ summary: "A session's exchanges, oldest first", description: 'An unknown session answers an empty list.' })
  @ApiOkResponse({ type: SessionPageDto })
  async session(@Param() params: SessionParamDto, @Query() query: SessionQueryDto): Promise<SessionPageDto> {
    const page = await this.history.session(params.session_id, { limit: query.limit ?? 1000, cursor: query.cursor });
    return { items: page.items.map(toConversationDto), next_cursor: page.nextCursor };
  }

  @Get('conversations/:id')
  @ApiOperation({
    summary: 'One stored exchange, in full',
    description:
      'The row as in the history, plus `kind` (chat, embedding, completion) and the whole `request` (every message sent, tools, format, think, options; images as `{mime, bytes, sha256}` references) ' +
      'and `answer` (text, thinking, tool calls, finish reason; no log probabilities). Both are null for exchanges stored before Vega kept them.',
  })
  @ApiOkResponse({ type: ConversationExchangeDto })
  @ApiErrors(404)
  async get(@Param() params: ConversationIdParamDto): Promise<ConversationExchangeDto> {
    return toExchangeDto(await this.history.get(params.id));
  }

  @Delete('conversations/:id')
  @HttpCode(204)
  @ApiOperation({ summary: 'Delete a stored exchange', description: 'Removed from the history and from the search index.' })
  @ApiNoContentResponse({ description: 'Deleted.' })
  @ApiErrors(404)
  async delete(@Param() params: ConversationIdParamDto): Promise<void> {
    await this.history.delete(params.id);
  }

  @Post('feedback')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Rate, tag, annotate or mark an exchange as reviewed',
    description: 'Only the fields given change; at least one is needed. Answers the updated row.',
  })
  @ApiOkResponse({ type: ConversationDto })
  @ApiErrors(404)
  async feedback(@Body() body: FeedbackRequestDto): Promise<ConversationDto> {
    const { conversation_id: id, ...changes } = body;
    return toConversationDto(await this.history.feedback(id, changes));
  }
}
