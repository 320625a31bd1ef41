import { Injectable } from '@nestjs/common';
import { UpstreamError } from '../../common/errors/app-errors';
import { decodeBody, OutboundFetcher, parseTarget } from '../../core/outbound/outbound-fetcher';
import { HttpHeadersResponseDto, SECURITY_HEADERS, SecuritySummaryDto } from './dto/http-headers-response.dto';
import { RobotsResponseDto } from './dto/robots-response.dto';

/** Only the headers matter; the start of the body is read so the connection can be reused. */
const HEADERS_BODY_BYTES = 64 * 1024;

/** OSINT look-ups over HTTP(S), all through the one guarded fetcher. */
@Injectable()
export class OsintWebService {
  constructor(private readonly fetcher: OutboundFetcher) {}

  async httpHeaders(url: string, signal?: AbortSignal): Promise<HttpHeadersResponseDto> {
    const result = await this.fetcher.fetch(url, { truncate: true, maxBytes: HEADERS_BODY_BYTES, signal });
    return {
      url: result.url,
      status: result.status,
      headers: result.headers,
      security: securitySummary(result.headers),
      redirects: result.redirects,
    };
  }

  async robots(url: string, signal?: AbortSignal): Promise<RobotsResponseDto> {
    const robotsUrl = new URL('/robots.txt', parseTarget(url)).href;
    const result = await this.fetcher.fetch(robotsUrl, { accept: ['text/plain'], signal });
    if (result.status === 404 || result.status === 410) return { url: robotsUrl, found: false, robots: '' };
    if (result.status < 200 || result.status >= 300) {
      throw new UpstreamError(`${robotsUrl} answered HTTP ${result.status}`);
    }
    return { url: robotsUrl, found: true, robots: decodeBody(result) };
  }
}

export function securitySummary(headers: Record<string, string>): SecuritySummaryDto {
  const summary = { missing: [] as string[] } as SecuritySummaryDto;
  for (const [field, name] of Object.entries(SECURITY_HEADERS)) {
    const present = headers[name] !== undefined;
    summary[field as keyof typeof SECURITY_HEADERS] = present;
    if (!present) summary.missing.push(name);
  }
  return summary;
}
