import { Body, Controller, Get, HttpCode, Post, Query, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Readable } from 'node:stream';
import { AdminOnly } from '../../common/auth/scopes.decorator';
import { ApiErrors } from '../../common/errors/api-errors.decorator';
import type { ConversationExchange } from '../../core/persistence/conversation-history.repository';
import { toExchangeDto } from '../history/stored-exchange.mapper';
import { toHistoryQuery } from '../history/history.controller';
import { HistoryService } from '../history/history.service';
import { CurateService } from '../datasets/curate.service';
import { DatabaseAdminService } from './database-admin.service';
import { BackupResponseDto, PurgeRequestDto, PurgeResponseDto } from './dto/database-admin.dto';
import { ExportQueryDto } from './dto/export-query.dto';

/** Lines are sent in chunks of about this size: fewer writes than one per row, still a small buffer. */
const CHUNK_BYTES = 64 * 1024;

@ApiTags('admin')
@AdminOnly()
@Controller('admin')
@ApiErrors(401, 429)
export class DatabaseAdminController {
  constructor(
    private readonly databaseAdmin: DatabaseAdminService,
    private readonly history: HistoryService,
    private readonly curate: CurateService,
  ) {}

  @Post('db/backup')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Back up the database',
    description: 'A consistent, compacted copy (`VACUUM INTO`) in `<data dir>/backups/`, made while the service keeps running.',
  })
  @ApiOkResponse({ type: BackupResponseDto })
  async backup(): Promise<BackupResponseDto> {
    const result = await this.databaseAdmin.backup();
    return { path: result.path, size_bytes: result.sizeBytes, created_at: result.createdAt.toISOString() };
  }

  @Post('db/purge')
  @HttpCode(200)
  @ApiOperation({ summary: 'Delete old conversations', description: 'Deletes conversations stored more than `older_than_days` days ago (from history and search).' })
  @ApiOkResponse({ type: PurgeResponseDto })
  @ApiErrors(400)
  async purge(@Body() body: PurgeRequestDto): Promise<PurgeResponseDto> {
    const result = await this.databaseAdmin.purgeOlderThan(body.older_than_days);
    return { deleted: result.deleted, before: result.before.toISOString() };
  }

  @Get('export')
  @ApiOperation({
    summary: 'Export conversations as JSON Lines, raw or as a curated training set',
    description:
      'Without `format`: streams every matching conversation, newest first, one JSON object per line: exactly what GET /conversations/{id} answers, `kind` and the whole `request` and `answer` included (`vega db import` reads it back). Same filters as GET /history, plus `tags`. ' +
      'With `format`: the curated training set of `vega learn curate` in that format: only `ok` chats, exact and near-duplicate prompts (case, whitespace, punctuation, Unicode forms) kept once (the newest), ' +
      'personal data and secrets masked in prompt and response whatever PII_MASKING says. ' +
      'Rows are read in keyset-paged batches as the client consumes them, so memory stays flat on any table size.',
  })
  @ApiProduces('application/x-ndjson')
  @ApiOkResponse({
    description: 'One conversation, or one training record, per line.',
    schema: { type: 'string', example: '{"id":2,"ts":"2026-11-24T10:15:30.123Z",…}\n' },
  })
  @ApiErrors(400)
  async export(@Query() query: ExportQueryDto, @Res() reply: FastifyReply): Promise<void> {
    const { format, tags, ...filters } = query;
    const historyQuery = { ...toHistoryQuery(filters), tags: tags?.split(',') };
    // Validated before the first byte, so a bad filter is still a plain 400.
    const lines = format ? this.curate.curate(historyQuery, format).lines : conversationLines(this.history.exportExchanges(historyQuery));
    const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '');
    const name = format ? `vega-curated-${format}-${stamp}.jsonl` : `vega-export-${stamp}.jsonl`;
    // The first chunk is read before the headers go out: a database that cannot be read (busy,
    // damaged) is then a plain 503. A failure later can only cut the body short.
    const chunks = chunked(lines);
    const first = await chunks.next();
    await reply
      .header('content-type', 'application/x-ndjson; charset=utf-8')
      .header('content-disposition', `attachment; filename="${name}"`)
      .header('cache-control', 'no-store')
      .send(Readable.from(first.done ? [] : prepend(first.value, chunks), { objectMode: false }));
  }
}

async function* prepend(head: string, rest: AsyncGenerator<string>): AsyncGenerator<string> {
  yield head;
  yield* rest;
}

async function* conversationLines(rows: AsyncIterable<ConversationExchange>): AsyncGenerator<string> {
  for await (const row of rows) yield JSON.stringify(toExchangeDto(row));
}

/** JSON texts → newline-terminated lines, sent in chunks of about `CHUNK_BYTES`. */
async function* chunked(lines: AsyncIterable<string>): AsyncGenerator<string> {
  let chunk = '';
  for await (const line of lines) {
    chunk += `${line}\n`;
    if (chunk.length >= CHUNK_BYTES) {
      yield chunk;
      chunk = '';
    }
  }
  if (chunk) yield chunk;
}
