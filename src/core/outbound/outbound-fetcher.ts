import { Injectable, OnApplicationShutdown } from '@nestjs/common';
import type { LookupAddress, LookupOptions } from 'node:dns';
import { isIP } from 'node:net';
import { Agent, request } from 'undici';
import type Dispatcher from 'undici/types/dispatcher';
import { AppConfig } from '../../config/app-config';
import { AppError, FetchRefusedError, UpstreamError, UpstreamTimeoutError } from '../../common/errors/app-errors';
import { classifyAddress } from './ip-address';
import { version } from '../../../package.json';
import { AddressRefused, refusal, TargetGuard } from './target-guard';
import { describeNetworkError } from './network-errors';

export const USER_AGENT = `Vega/${version} (local-first LLM service; research and OSINT fetcher)`;
export const MAX_REDIRECTS = 5;

export interface FetchOptions {
  method?: 'GET' | 'HEAD' | 'POST';
  headers?: Record<string, string>;
  /** A request body (a webhook's JSON). Only sent with POST; a redirect is then never followed. */
  body?: string;
  /**
   * Media types a successful (2xx) answer may have, e.g. `text/html` or `text/*`; anything
   * else is refused before the body is read. Omitted: any type.
   */
  accept?: readonly string[];
  /** Cut the body at the size cap instead of failing (an HTML page: its start is what counts). */
  truncate?: boolean;
  maxBytes?: number;
  timeoutMs?: number;
  maxRedirects?: number;
  /** false: a redirect is the answer (its `location` header says where), not followed. */
  followRedirects?: boolean;
  signal?: AbortSignal;
  /**
   * The URL is operator-configured (a search provider's base URL), so its origin may be private;
   * a redirect to any other origin is checked as usual.
   */
  trusted?: boolean;
}

export interface FetchResult {
  /** The final URL, after redirects. */
  url: string;
  status: number;
  headers: Record<string, string>;
  /** The media type of `content-type`, lower-cased, without parameters ('' when absent). */
  mediaType: string;
  body: Buffer;
  truncated: boolean;
  /** Every URL that answered with a redirect, in order. */
  redirects: string[];
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/**
 * The one way Vega reaches the web (research, OSINT). Keep-alive pools, one timeout for the
 * whole exchange (redirects and body included), a body size cap, at most 5 redirects followed
 * by hand, only http(s), an optional content-type check and a clear user agent.
 *
 * SSRF guard: a literal IP is classified before connecting; a host name is resolved inside the
 * connection's own look-up, every address is classified, and the socket connects to exactly
 * the addresses that passed — there is no second look-up to rebind. Every redirect hop goes
 * through the same checks. `FETCH_ALLOW_PRIVATE=true` lifts them; `FETCH_ALLOW_HOSTS` lifts
 * them for the hosts it names.
 */
@Injectable()
export class OutboundFetcher implements OnApplicationShutdown {
  private readonly guarded: Agent;
  private readonly direct: Agent;
  private readonly limits: AppConfig['outbound'];

  constructor(
    config: AppConfig,
    private readonly guard: TargetGuard,
  ) {
    this.limits = config.outbound;
    const base = {
      keepAliveTimeout: 30_000,
      keepAliveMaxTimeout: 120_000,
      connections: 32,
      // The whole-exchange timeout below governs; these would only cut it shorter.
      headersTimeout: 0,
      bodyTimeout: 0,
    };
    const connectTimeout = Math.min(this.limits.timeoutMs, 10_000);
    this.guarded = new Agent({ ...base, connect: { timeout: connectTimeout, lookup: this.vettedLookup } });
    this.direct = new Agent({ ...base, connect: { timeout: connectTimeout } });
  }

  async fetch(target: string, options: FetchOptions = {}): Promise<FetchResult> {
    let url = parseTarget(target);
    const timeoutMs = options.timeoutMs ?? this.limits.timeoutMs;
    const controller = new AbortController();
    const timer = setTimeout(
      () => controller.abort(new UpstreamTimeoutError(`${target} did not answer within ${timeoutMs / 1000} s`)),
      timeoutMs,
    );
    const onCallerAbort = () => controller.abort(options.signal!.reason);
    if (options.signal?.aborted) onCallerAbort();
    else options.signal?.addEventListener('abort', onCallerAbort, { once: true });

    const trustedOrigin = options.trusted ? url.origin : undefined;
    const redirects: string[] = [];
    try {
      for (;;) {
        const dispatcher = this.dispatcherFor(url, trustedOrigin, redirects);
        let response: Dispatcher.ResponseData;
        try {
          response = await request(url, {
            method: options.method ?? 'GET',
            headers: {
              'user-agent': USER_AGENT,
              accept: options.accept?.join(', ') ?? '*/*',
              ...options.headers,
            },
            body: options.method === 'POST' ? options.body : undefined,
            dispatcher,
            signal: controller.signal,
          });
        } catch (error) {
          throw this.explain(error, url, redirects, controller.signal);
        }
        const location = header(response.headers, 'location');
        // A POST is never replayed to wherever a redirect points.
        const follow = options.followRedirects !== false && options.method !== 'POST';
        if (REDIRECTS.has(response.statusCode) && location && follow) {
          await response.body.dump().catch(() => undefined);
          if (redirects.length >= (options.maxRedirects ?? MAX_REDIRECTS)) {
            throw new UpstreamError(`${target} redirected more than ${options.maxRedirects ?? MAX_REDIRECTS} times`);
          }
          redirects.push(url.href);
          url = parseTarget(location, url);
          continue;
        }
        return await this.finish(url, response, redirects, options, controller.signal);
      }
    } finally {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onCallerAbort);
    }
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.all([this.guarded.close(), this.direct.close()]);
  }

  /** Literal IPs are vetted here; names go to the guarded agent, whose look-up vets them. */
  private dispatcherFor(url: URL, trustedOrigin: string | undefined, redirects: string[]): Agent {
    if (url.origin === trustedOrigin || this.guard.isExempt(url.host, url.hostname)) return this.direct;
    const literal = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    if (!isIP(literal)) return this.guarded;
    const verdict = classifyAddress(literal);
    if (!verdict.allowed) throw refused(url, redirects, `${literal} is ${verdict.reason}`);
    return this.direct;
  }

  /** The socket's own look-up: the addresses it connects to are the ones the guard vetted. */
  private readonly vettedLookup = (
    hostname: string,
    options: LookupOptions,
    callback: (error: Error | null, address: string | LookupAddress[], family?: number) => void,
  ): void => {
    this.guard.vet(hostname).then(
      (found) => {
        const usable = options.family === 4 || options.family === 6 ? found.filter((a) => a.family === options.family) : found;
        if (usable.length === 0) {
          return callback(Object.assign(new Error(`${hostname} has no IPv${options.family} address`), { code: 'ENODATA' }), '');
        }
        if (options.all) callback(null, usable);
        else callback(null, usable[0].address, usable[0].family);
      },
      (error: Error) => callback(error, ''),
    );
  };

  private async finish(
    url: URL,
    response: Dispatcher.ResponseData,
    redirects: string[],
    options: FetchOptions,
    signal: AbortSignal,
  ): Promise<FetchResult> {
    const status = response.statusCode;
    const mediaType = (header(response.headers, 'content-type') ?? '').split(';')[0].trim().toLowerCase();
    const ok = status >= 200 && status < 300;
    if (ok && options.accept && options.method !== 'HEAD' && !accepts(options.accept, mediaType)) {
      discard(response.body);
      throw new UpstreamError(
        `${url.href} answered with content type "${mediaType || 'none'}"; expected ${options.accept.join(' or ')}`,
      );
    }
    const maxBytes = options.maxBytes ?? this.limits.maxBytes;
    const declared = Number(header(response.headers, 'content-length'));
    if (!options.truncate && declared > maxBytes) {
      discard(response.body);
      throw tooLarge(url, maxBytes);
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let truncated = false;
    try {
      for await (const chunk of response.body as AsyncIterable<Buffer>) {
        if (size + chunk.length > maxBytes) {
          if (!options.truncate) throw tooLarge(url, maxBytes);
          chunks.push(chunk.subarray(0, maxBytes - size));
          size = maxBytes;
          truncated = true;
          break; // leaving the loop destroys the body: the rest is never downloaded
        }
        chunks.push(chunk);
        size += chunk.length;
      }
    } catch (error) {
      if (error instanceof AppError) throw error;
      throw this.explain(error, url, redirects, signal);
    }
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(response.headers)) {
      if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
    }
    return { url: url.href, status, headers, mediaType, body: Buffer.concat(chunks, size), truncated, redirects };
  }

  /** The app error for a failed exchange: the timeout, the caller's abort, a refusal, or the network's reason. */
  private explain(error: unknown, url: URL, redirects: string[], signal: AbortSignal): unknown {
    if (signal.aborted) return signal.reason;
    const refusal = findCause(error, (e) => e instanceof AddressRefused);
    if (refusal) return refused(url, redirects, refusal.message);
    if (error instanceof AppError) return error;
    // A name the resolver calls malformed is the caller's mistake, unless a redirect led there.
    const badName = findCause(error, (e) => (e as { code?: unknown } | null)?.code === 'EBADNAME');
    if (badName && redirects.length === 0) return new FetchRefusedError(`Could not fetch ${url.href}: ${url.hostname} is not a valid host name`);
    return new UpstreamError(`Could not fetch ${url.href}: ${describeNetworkError(error)}`, { cause: error });
  }
}

/** Text of a fetched body, decoded with the `charset` of its content type (UTF-8 by default). */
export function decodeBody(result: FetchResult): string {
  const charset = /charset=["']?([\w-]+)/i.exec(result.headers['content-type'] ?? '')?.[1];
  try {
    return new TextDecoder(charset ?? 'utf-8').decode(result.body);
  } catch {
    return new TextDecoder('utf-8').decode(result.body);
  }
}

/** JSON of a fetched text; malformed JSON is the remote side's failure (502) naming `what`. */
export function parseJson<T>(text: string, what: string): T {
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new UpstreamError(`${what} answered with malformed JSON`);
  }
}

/** Parses an absolute URL (or one relative to `base`); only http and https are fetched. */
export function parseTarget(text: string, base?: URL): URL {
  let url: URL;
  try {
    url = new URL(text, base);
  } catch {
    throw new FetchRefusedError(base ? `${base.href} redirected to an invalid URL "${text}"` : `"${text}" is not a valid URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    const what = base ? `${base.href} redirected to ${url.href}` : `${url.href} cannot be fetched`;
    throw new FetchRefusedError(`${what}: only http and https URLs are fetched (got ${url.protocol})`);
  }
  if (url.username || url.password) throw new FetchRefusedError(`${url.origin}: URLs with credentials are not fetched`);
  return url;
}

function refused(url: URL, redirects: string[], reason: string): FetchRefusedError {
  const via = redirects.length > 0 ? ` (redirected from ${redirects[redirects.length - 1]})` : '';
  return refusal(`fetch ${url.href}${via}`, reason);
}

/** Stops reading a body; undici reports a plain destroy() as an error event, which nobody wants here. */
function discard(body: Dispatcher.ResponseData['body']): void {
  body.on('error', () => undefined);
  body.destroy();
}

function tooLarge(url: URL, maxBytes: number): UpstreamError {
  return new UpstreamError(`${url.href} is larger than ${maxBytes} bytes (FETCH_MAX_BYTES)`);
}

function accepts(accepted: readonly string[], mediaType: string): boolean {
  return accepted.some((type) => (type.endsWith('/*') ? mediaType.startsWith(type.slice(0, -1)) : type === mediaType));
}

function header(headers: Dispatcher.ResponseData['headers'], name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function findCause(error: unknown, test: (e: unknown) => boolean): Error | undefined {
  for (let current = error, depth = 0; current && depth < 8; depth += 1) {
    if (test(current)) return current as Error;
    if (current instanceof AggregateError) {
      const inner = current.errors.map((e) => findCause(e, test)).find(Boolean);
      if (inner) return inner;
    }
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}
