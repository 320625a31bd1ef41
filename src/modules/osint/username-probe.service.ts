import { Injectable } from '@nestjs/common';
import { setMaxListeners } from 'node:events';
import { mapLimit } from '../../common/async/map-limit';
import { describeError } from '../../common/errors/all-exceptions.filter';
import { InvalidInputError } from '../../common/errors/app-errors';
import { AppConfig } from '../../config/app-config';
import { decodeBody, OutboundFetcher } from '../../core/outbound/outbound-fetcher';
import { loadUsernameSites, UsernameSite } from './username-sites';

/** Sites probed at once. */
export const PROBE_CONCURRENCY = 16;
/** The longest one site may take (capped by FETCH_TIMEOUT_SEC). */
const SITE_TIMEOUT_MS = 5_000;
const PAGE_BYTES = 512 * 1024;

export interface UsernameHit {
  site: string;
  url: string;
  /** true: found; false: not found; null: could not tell (see `note`). */
  exists: boolean | null;
  status: number | null;
  note: string;
  nsfw: boolean;
}

export interface ProbeOptions {
  includeNsfw: boolean;
  sites?: readonly string[];
  signal?: AbortSignal;
  /** Called after each site, for progress bars. */
  onProgress?: (done: number, total: number) => void;
}

/** Checks a username on many sites concurrently, each by its own explicit rule. */
@Injectable()
export class UsernameProbeService {
  readonly sites: readonly UsernameSite[];
  private readonly timeoutMs: number;

  constructor(
    config: AppConfig,
    private readonly fetcher: OutboundFetcher,
  ) {
    this.sites = loadUsernameSites(config.osint.usernameSitesFile);
    this.timeoutMs = Math.min(SITE_TIMEOUT_MS, config.outbound.timeoutMs);
  }

  async probe(username: string, options: ProbeOptions): Promise<UsernameHit[]> {
    const selected = this.select(options);
    // Every probe in flight listens to the caller's signal: that many listeners is expected.
    if (options.signal) setMaxListeners(PROBE_CONCURRENCY + 10, options.signal);
    let done = 0;
    return mapLimit(selected, PROBE_CONCURRENCY, async (site) => {
      const hit = await this.check(site, username, options.signal);
      options.onProgress?.((done += 1), selected.length);
      return hit;
    });
  }

  private select({ includeNsfw, sites }: ProbeOptions): UsernameSite[] {
    if (!sites) return this.sites.filter((site) => includeNsfw || !site.nsfw);
    const byName = new Map(this.sites.map((site) => [site.name.toLowerCase(), site]));
    const unknown = sites.filter((name) => !byName.has(name.toLowerCase()));
    if (unknown.length > 0) {
      throw new InvalidInputError(`sites: unknown site ${unknown.map((name) => `"${name}"`).join(', ')}; known sites: ${this.sites.map((site) => site.name).join(', ')}`);
    }
    return [...new Set(sites.map((name) => byName.get(name.toLowerCase())!))].filter((site) => includeNsfw || !site.nsfw);
  }

  private async check(site: UsernameSite, username: string, signal?: AbortSignal): Promise<UsernameHit> {
    const url = site.url.replace('{}', encodeURIComponent(username));
    const hit = { site: site.name, url, nsfw: site.nsfw };
    if (site.pattern && !new RegExp(site.pattern).test(username)) {
      return { ...hit, exists: false, status: null, note: 'not a valid username on this site' };
    }
    let result;
    try {
      result = await this.fetcher.fetch(url, { followRedirects: false, truncate: true, maxBytes: PAGE_BYTES, timeoutMs: this.timeoutMs, signal });
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      return { ...hit, exists: null, status: null, note: describeError(error).body.message };
    }
    const { status } = result;
    if (status === 404 || status === 410) return { ...hit, exists: false, status, note: `HTTP ${status}` };
    if (status >= 300 && status < 400) {
      return { ...hit, exists: null, status, note: `redirected to ${result.headers.location ?? '?'}: a redirect is not taken as proof either way` };
    }
    if (status < 200 || status >= 300) return { ...hit, exists: null, status, note: `HTTP ${status}: inconclusive` };
    if (site.detect === 'status') return { ...hit, exists: true, status, note: `HTTP ${status}` };
    const found = decodeBody(result).includes(site.text!);
    const exists = site.detect === 'text_present' ? found : !found;
    const note = `page ${found ? 'contains' : 'lacks'} "${site.text}"`;
    return { ...hit, exists, status, note };
  }
}
