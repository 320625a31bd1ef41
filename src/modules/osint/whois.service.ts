import { Injectable } from '@nestjs/common';
import { connect } from 'node:net';
import { AppConfig } from '../../config/app-config';
import { describeError } from '../../common/errors/all-exceptions.filter';
import { AppError, NotFoundError, UpstreamError, UpstreamTimeoutError } from '../../common/errors/app-errors';
import { decodeBody, OutboundFetcher, parseJson } from '../../core/outbound/outbound-fetcher';
import { describeNetworkError } from '../../core/outbound/network-errors';
import { TargetGuard } from '../../core/outbound/target-guard';
import { WhoisResponseDto } from './dto/whois.dto';

const BOOTSTRAP_TTL_MS = 24 * 3600_000;
const WHOIS_MAX_BYTES = 256 * 1024;
const RDAP_TYPES = ['application/rdap+json', 'application/json'];

interface RdapDomain {
  ldhName?: string;
  status?: string[];
  events?: { eventAction?: string; eventDate?: string }[];
  nameservers?: { ldhName?: string }[];
  entities?: { roles?: string[]; vcardArray?: [string, [string, unknown, string, unknown][]] }[];
}

/** Registration facts: RDAP (IANA bootstrap → the registry's server), else WHOIS on port 43. */
@Injectable()
export class WhoisService {
  private bootstrap?: { services: [string[], string[]][]; at: number };

  constructor(
    private readonly config: AppConfig,
    private readonly fetcher: OutboundFetcher,
    private readonly guard: TargetGuard,
  ) {}

  async lookup(input: string, signal?: AbortSignal): Promise<WhoisResponseDto> {
    const domain = input.toLowerCase().replace(/\.$/, '');
    let rdapError: string;
    try {
      return await this.rdap(domain, signal);
    } catch (error) {
      // A registry that says "no such domain" is an answer, not a reason to ask WHOIS.
      if (error instanceof NotFoundError || signal?.aborted) throw error;
      rdapError = describeError(error).body.message;
    }
    return this.whois(domain, rdapError, signal);
  }

  private async rdap(domain: string, signal?: AbortSignal): Promise<WhoisResponseDto> {
    const base = await this.rdapBase(domain, signal);
    const url = new URL(`domain/${domain}`, base.endsWith('/') ? base : `${base}/`).href;
    const answer = await this.fetcher.fetch(url, { accept: RDAP_TYPES, signal });
    if (answer.status === 404) throw new NotFoundError(`${domain} is not registered (RDAP: ${url} answered 404)`);
    if (answer.status !== 200) throw new UpstreamError(`${url} answered HTTP ${answer.status}`);
    const record = parseJson<RdapDomain>(decodeBody(answer), url);
    const event = (action: string) => record.events?.find((e) => e.eventAction === action)?.eventDate ?? null;
    const registrar = record.entities?.find((entity) => entity.roles?.includes('registrar'));
    const name = registrar?.vcardArray?.[1]?.find((field) => field[0] === 'fn')?.[3];
    return {
      domain,
      source: 'rdap',
      registrar: typeof name === 'string' ? name : null,
      created: event('registration'),
      updated: event('last changed'),
      expires: event('expiration'),
      status: record.status ?? [],
      nameservers: (record.nameservers ?? []).map((ns) => (ns.ldhName ?? '').toLowerCase()).filter(Boolean),
      server: url,
      rdap_error: null,
    };
  }

  /** The RDAP base URL for the domain's TLD (longest matching suffix) from the bootstrap file. */
  private async rdapBase(domain: string, signal?: AbortSignal): Promise<string> {
    if (!this.bootstrap || Date.now() - this.bootstrap.at > BOOTSTRAP_TTL_MS) {
      const url = this.config.osint.rdapBootstrapUrl;
      const answer = await this.fetcher.fetch(url, { accept: ['application/json'], trusted: true, signal });
      if (answer.status !== 200) throw new UpstreamError(`RDAP bootstrap ${url} answered HTTP ${answer.status}`);
      const services = parseJson<{ services?: [string[], string[]][] }>(decodeBody(answer), url).services;
      if (!Array.isArray(services)) throw new UpstreamError(`RDAP bootstrap ${url} has no services`);
      this.bootstrap = { services, at: Date.now() };
    }
    const labels = domain.split('.');
    for (let i = 1; i < labels.length; i += 1) {
      const suffix = labels.slice(i).join('.');
      const service = this.bootstrap.services.find(([tlds]) => tlds.includes(suffix));
      const base = service?.[1].find((candidate) => candidate.startsWith('https://')) ?? service?.[1][0];
      if (base) return base;
    }
    throw new UpstreamError(`no RDAP service for .${labels[labels.length - 1]}`);
  }

  /** WHOIS on port 43 at WHOIS_SERVER, following one "refer:" (IANA's answer names the registry's server). */
  private async whois(domain: string, rdapError: string, signal?: AbortSignal): Promise<WhoisResponseDto> {
    let server = this.config.osint.whoisServer;
    let text = await this.query(server, domain, true, signal);
    const refer = /^\s*(?:refer|whois server|registrar whois server):\s*(\S+)/im.exec(text)?.[1];
    if (refer && refer.toLowerCase() !== server.toLowerCase()) {
      server = refer;
      text = await this.query(server, domain, false, signal);
    }
    if (/^\s*(no match for|not found|no data found|no entries found)/im.test(text)) {
      throw new NotFoundError(`${domain} is not registered (WHOIS ${server})`);
    }
    const first = (label: string) => new RegExp(`^\\s*${label}:[ \\t]*(.+)$`, 'im').exec(text)?.[1].trim() ?? null;
    const all = (label: string) => [...text.matchAll(new RegExp(`^\\s*${label}:[ \\t]*(\\S.*)$`, 'gim'))].map((m) => m[1].trim());
    return {
      domain,
      source: 'whois',
      registrar: first('registrar'),
      created: first('creation date') ?? first('created'),
      updated: first('updated date') ?? first('last-modified') ?? first('changed'),
      expires: first('registry expiry date') ?? first('registrar registration expiration date') ?? first('expiry date'),
      status: all('domain status').map((status) => status.split(/\s+/)[0]),
      nameservers: all('name server').concat(all('nserver')).map((ns) => ns.split(/\s+/)[0].toLowerCase()),
      server: `whois://${server}`,
      rdap_error: rdapError,
    };
  }

  /** One WHOIS exchange: send the query line, read until the server closes (capped). */
  private async query(server: string, domain: string, trusted: boolean, signal?: AbortSignal): Promise<string> {
    const { hostname, port } = splitServer(server);
    const [target] = trusted
      ? [{ address: hostname }]
      : await this.guard.addressesFor(hostname, port, `query WHOIS at ${server}`);
    const timeoutMs = this.config.outbound.timeoutMs;
    return new Promise<string>((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      const socket = connect({ host: target.address, port });
      const fail = (error: AppError) => {
        clearTimeout(timer);
        socket.destroy();
        reject(error);
      };
      const timer = setTimeout(() => fail(new UpstreamTimeoutError(`WHOIS ${server} did not answer within ${timeoutMs / 1000} s`)), timeoutMs);
      const onAbort = () => fail(new UpstreamError('The client went away'));
      signal?.addEventListener('abort', onAbort, { once: true });
      socket.once('connect', () => socket.write(`${domain}\r\n`));
      socket.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > WHOIS_MAX_BYTES) return fail(new UpstreamError(`WHOIS ${server} sent more than ${WHOIS_MAX_BYTES} bytes`));
        chunks.push(chunk);
      });
      socket.once('error', (error) => fail(new UpstreamError(`WHOIS ${server} failed: ${describeNetworkError(error)}`, { cause: error })));
      socket.once('close', () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        resolve(Buffer.concat(chunks).toString('utf8'));
      });
    });
  }
}

/** `host`, `host:port` or `[v6]:port`; port 43 by default. */
function splitServer(server: string): { hostname: string; port: number } {
  const url = new URL(`whois://${server}`);
  return { hostname: url.hostname.replace(/^\[|\]$/g, ''), port: url.port ? Number(url.port) : 43 };
}
