import { lookup, Resolver } from 'node:dns/promises';

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

/**
 * Turns a host name into addresses. The outbound fetcher vets exactly these addresses and
 * connects to them, so there is no second look-up for a rebinding attacker to win.
 */
export abstract class HostResolver {
  abstract resolve(hostname: string): Promise<ResolvedAddress[]>;
}

/** The system resolver (`getaddrinfo`: `/etc/hosts`, then DNS), used when `DNS_SERVERS` is empty. */
export class SystemHostResolver extends HostResolver {
  async resolve(hostname: string): Promise<ResolvedAddress[]> {
    const found = await lookup(hostname, { all: true, order: 'verbatim' });
    return found.map(({ address, family }) => ({ address, family: family === 6 ? 6 : 4 }));
  }
}

/** Asks the DNS servers of `DNS_SERVERS` directly (A and AAAA in parallel); `/etc/hosts` is not read. */
export class DnsServersHostResolver extends HostResolver {
  constructor(readonly resolver: Resolver) {
    super();
  }

  static forServers(servers: readonly string[], timeoutMs = 5_000): DnsServersHostResolver {
    const resolver = new Resolver({ timeout: timeoutMs, tries: 2 });
    resolver.setServers([...servers]);
    return new DnsServersHostResolver(resolver);
  }

  async resolve(hostname: string): Promise<ResolvedAddress[]> {
    const [four, six] = await Promise.allSettled([this.resolver.resolve4(hostname), this.resolver.resolve6(hostname)]);
    const addresses: ResolvedAddress[] = [
      ...(four.status === 'fulfilled' ? four.value.map((address) => ({ address, family: 4 as const })) : []),
      ...(six.status === 'fulfilled' ? six.value.map((address) => ({ address, family: 6 as const })) : []),
    ];
    if (addresses.length > 0) return addresses;
    // Neither family answered: report the A look-up's reason (ENOTFOUND, ETIMEOUT…).
    const failed = [four, six].find((result): result is PromiseRejectedResult => result.status === 'rejected');
    throw failed?.reason ?? Object.assign(new Error(`${hostname} has no A or AAAA record`), { code: 'ENOTFOUND' });
  }
}
