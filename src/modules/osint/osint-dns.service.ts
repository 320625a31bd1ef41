import { Injectable } from '@nestjs/common';
import { Resolver } from 'node:dns/promises';
import { isIP } from 'node:net';
import { AppConfig } from '../../config/app-config';
import { NotFoundError, UpstreamError, UpstreamTimeoutError } from '../../common/errors/app-errors';
import { HostResolver } from '../../core/outbound/host-resolver';
import { parseIPv6 } from '../../core/outbound/ip-address';
import { describeNetworkError } from '../../core/outbound/network-errors';
import { DnsRecordsDto, DnsResponseDto, ReverseDnsResponseDto } from './dto/dns.dto';

/** "No such name" and "no record of that type": an empty answer, not a failure. */
const EMPTY = new Set(['ENOTFOUND', 'ENODATA', 'NOTFOUND', 'NODATA']);

/** DNS look-ups with `node:dns`, asking DNS_SERVERS when set (else the system's servers). */
@Injectable()
export class OsintDnsService {
  private readonly resolver: Resolver;

  constructor(
    config: AppConfig,
    private readonly hosts: HostResolver,
  ) {
    this.resolver = new Resolver({ timeout: Math.min(config.outbound.timeoutMs, 5_000), tries: 2 });
    if (config.outbound.dnsServers.length > 0) this.resolver.setServers([...config.outbound.dnsServers]);
  }

  async lookup(hostname: string): Promise<DnsResponseDto> {
    const name = hostname.replace(/\.$/, '');
    const [addresses, A, AAAA, MX, TXT, NS, CNAME] = await Promise.all([
      this.hosts.resolve(name).then((found) => found.map((entry) => entry.address)).catch(emptyOr(name)),
      this.resolver.resolve4(name).catch(emptyOr(name)),
      this.resolver.resolve6(name).catch(emptyOr(name)),
      this.resolver
        .resolveMx(name)
        .then((records) =>
          // Node 24 adds `type: 'MX'` to each record; the API's shape stays {exchange, priority}.
          records.map(({ exchange, priority }) => ({ exchange, priority })).sort((a, b) => a.priority - b.priority),
        )
        .catch(emptyOr(name)),
      this.resolver
        .resolveTxt(name)
        .then((records) => records.map((parts) => parts.join('')))
        .catch(emptyOr(name)),
      this.resolver.resolveNs(name).catch(emptyOr(name)),
      this.resolver.resolveCname(name).catch(emptyOr(name)),
    ]);
    const records: DnsRecordsDto = { A, AAAA, MX, TXT, NS, CNAME };
    if (addresses.length === 0 && Object.values(records).every((list) => list.length === 0)) {
      throw new NotFoundError(`${name} has no DNS records`);
    }
    return { hostname: name, addresses, records };
  }

  async reverse(ip: string): Promise<ReverseDnsResponseDto> {
    // A PTR query rather than reverse(), which would answer from /etc/hosts before DNS.
    const names = await this.resolver.resolvePtr(arpaName(ip)).catch(emptyOr(ip));
    return { ip, names };
  }
}

/** `1.2.3.4` → `4.3.2.1.in-addr.arpa`; IPv6 → its nibbles under `ip6.arpa`. */
export function arpaName(ip: string): string {
  if (isIP(ip) === 4) return `${ip.split('.').reverse().join('.')}.in-addr.arpa`;
  const nibbles = parseIPv6(ip)!.flatMap((byte) => [(byte >> 4).toString(16), (byte & 0xf).toString(16)]);
  return `${nibbles.reverse().join('.')}.ip6.arpa`;
}

/** Empty for "no such name / no data"; a timeout is a 504, anything else a 502. */
function emptyOr(name: string) {
  return (error: NodeJS.ErrnoException): never[] => {
    if (error.code && EMPTY.has(error.code)) return [];
    if (error.code === 'ETIMEOUT') throw new UpstreamTimeoutError(`The DNS look-up of ${name} timed out`);
    throw new UpstreamError(`The DNS look-up of ${name} failed: ${describeNetworkError(error)} (${error.code ?? 'error'})`);
  };
}
