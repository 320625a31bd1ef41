import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import { Injectable } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { AppError, ClientClosedError, InvalidInputError } from '../../common/errors/app-errors';
import type { AuditOutcome } from '../../core/persistence/audit-log.repository';
import { AuditService } from '../audit/audit.service';
import { OllamaModelsClient } from '../training/ollama-models.client';
import { OllamaAnswerWatcher } from './ollama-models-admin.outcome';
import { drained } from '../../common/streaming/drained';

/** One model-management call, as the controller read it. */
export interface ModelAdminCall {
  /** What the audit log names it: `POST /api/pull`. */
  route: string;
  method: 'HEAD' | 'POST' | 'DELETE';
  /** Ollama's path (the same as Vega's). */
  path: string;
  keyId: string;
  /** A JSON body as parsed, sent on re-encoded; or the request stream of a blob upload. */
  body?: unknown;
  stream?: Readable;
  /** Headers to send with a streamed body (its length and type). */
  headers?: Record<string, string>;
  models: string[];
  /** The detail of a call that succeeds (e.g. `from mistral`); Ollama's last status line when absent. */
  detail?: string;
  /** Refused by Vega before it reaches Ollama (a malformed digest): audited, then thrown. */
  refusal?: AppError;
}

/** Ollama's headers worth passing on; the others describe its connection, not the answer. */
const ANSWER_HEADERS = ['content-type', 'content-length'];

/** Ollama's digest format (`sha256:` or `sha256-` then 64 hex digits), as its blob handlers check it. */
export const BLOB_DIGEST = /^sha256[:-][0-9a-fA-F]{64}$/;

/**
 * Passes the model-management routes through to Ollama: the request as it came, the answer as it
 * comes (status, `{"error"}` bodies and NDJSON progress lines unchanged, relayed as they arrive,
 * with backpressure), the upstream request cancelled when the client goes away, and every call
 * written to the audit log before its answer ends.
 */
@Injectable()
export class OllamaModelsAdminService {
  constructor(
    private readonly ollama: OllamaModelsClient,
    private readonly audit: AuditService,
  ) {}

  async relay(call: ModelAdminCall, reply: FastifyReply): Promise<void> {
    const at = new Date();
    const started = performance.now();
    const record = (outcome: AuditOutcome, status: number, detail: string | undefined) =>
      this.audit.record({ at, keyId: call.keyId, route: call.route, models: call.models, outcome, status, durationMs: performance.now() - started, detail: detail ?? null });

    if (call.refusal) {
      await record('error', call.refusal.status, call.refusal.message);
      throw call.refusal;
    }

    const gone = new AbortController();
    const raw = reply.raw;
    raw.once('close', () => {
      if (!raw.writableFinished) gone.abort(new ClientClosedError());
    });

    let response;
    try {
      const body = call.stream ?? (call.body === undefined ? undefined : JSON.stringify(call.body));
      const headers = call.stream ? call.headers : { 'content-type': 'application/json' };
      response = await this.ollama.forward({ method: call.method, path: call.path, body, headers, signal: gone.signal });
    } catch (error) {
      if (gone.signal.aborted) {
        await record('aborted', 499, 'the client went away before Ollama answered');
        return;
      }
      await record('error', error instanceof AppError ? error.status : 500, error instanceof Error ? error.message : String(error));
      throw error;
    }

    reply.hijack();
    raw.writeHead(response.statusCode, { ...(reply.getHeaders() as OutgoingHttpHeaders), ...answerHeaders(response.headers) });
    const watcher = new OllamaAnswerWatcher();
    const length = Number(response.headers['content-length'] ?? Number.NaN);
    let received = 0;
    // The chunk that ends the answer (its announced length reached, or the `success` or `error`
    // line of a progress stream) waits for the audit entry: a client that has the whole answer
    // finds the call in the log. Every other chunk goes out as it comes.
    let held: Buffer | undefined;
    try {
      for await (const chunk of response.body as AsyncIterable<Buffer>) {
        received += chunk.length;
        const ends = watcher.push(chunk) || received === length;
        if (held !== undefined || ends) held = held === undefined ? chunk : Buffer.concat([held, chunk]);
        else if (!raw.write(chunk)) await drained(raw);
        if (gone.signal.aborted) break;
      }
    } catch (error) {
      if (!gone.signal.aborted) {
        // Ollama went away mid-answer: the client hears it as Ollama would say it, in a last line.
        const message = `the connection to Ollama was lost (${error instanceof Error ? error.message : String(error)})`;
        await record('error', response.statusCode, message);
        if (held !== undefined) raw.write(held);
        // A body of announced length cannot take another line: the client sees it cut short.
        if (Number.isNaN(length)) raw.end(`${JSON.stringify({ error: message })}\n`);
        else raw.destroy();
        return;
      }
    } finally {
      if (gone.signal.aborted && !response.body.destroyed) response.body.destroy();
    }
    if (gone.signal.aborted) {
      const { detail } = watcher.outcome(response.statusCode);
      await record('aborted', response.statusCode, `the client went away${detail ? ` after "${detail}"` : ''}`);
      return;
    }
    const { outcome, detail } = watcher.outcome(response.statusCode);
    await record(outcome, response.statusCode, outcome === 'ok' ? (call.detail ?? detail) : detail);
    raw.end(held);
  }
}

function answerHeaders(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const kept: OutgoingHttpHeaders = {};
  for (const name of ANSWER_HEADERS) if (headers[name] !== undefined) kept[name] = headers[name];
  return kept;
}

/** Why Vega refuses a blob route's digest before it goes into Ollama's path, if it does. */
export function digestRefusal(digest: string): AppError | undefined {
  return BLOB_DIGEST.test(digest) ? undefined : new InvalidInputError('invalid digest format');
}
