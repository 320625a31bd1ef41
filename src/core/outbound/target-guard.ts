import { Injectable } from '@nestjs/common';
import { isIP } from 'node:net';
import { AppConfig } from '../../config/app-config';
import { FetchRefusedError } from '../../common/errors/app-errors';
import { HostResolver, ResolvedAddress } from './host-resolver';
import { classifyAddress } from './ip-address';
import { lookupFailure } from './network-errors';

/** A target the SSRF policy refuses; `message` says why (e.g. "x resolves to 127.0.0.1, which is a loopback address"). */
export class AddressRefused extends Error {}

/**
 * The SSRF policy shared by every outbound connection (HTTP fetches, TLS certificate reads):
 * which hosts are exempt, and the addresses a host may be reached at — resolved once and
 * every one classified, so callers connect to exactly what was checked.
 */
@Injectable()
export class TargetGuard {
  private readonly policy: AppConfig['outbound'];

  constructor(
    config: AppConfig,
    private readonly resolver: HostResolver,
  ) {
    this.policy = config.outbound;
  }

  /** FETCH_ALLOW_PRIVATE, or the host (`name` or `name:port`, URL form) is in FETCH_ALLOW_HOSTS. */
  isExempt(host: string, hostname: string): boolean {
    return this.policy.allowPrivate || this.policy.allowHosts.some((entry) => entry === host || entry === hostname);
  }

  /** The addresses of `hostname` (a name or a bare IP literal), all of them allowed; throws `AddressRefused`. */
  async vet(hostname: string): Promise<ResolvedAddress[]> {
    const family = isIP(hostname);
    if (family !== 0) {
      const verdict = classifyAddress(hostname);
      if (!verdict.allowed) throw new AddressRefused(`${hostname} is ${verdict.reason}`);
      return [{ address: hostname, family: family === 6 ? 6 : 4 }];
    }
    const found = await this.resolver.resolve(hostname);
    for (const { address } of found) {
      const verdict = classifyAddress(address);
      if (!verdict.allowed) throw new AddressRefused(`${hostname} resolves to ${address}, which is ${verdict.reason}`);
    }
    return found;
  }

  /**
   * Where to connect for `hostname:port` (not through HTTP): the vetted addresses, or all of them
   * when the host is exempt. A refusal is a `FetchRefusedError` naming `what`; a failed look-up
   * an app error (`lookupFailure`).
   */
  async addressesFor(hostname: string, port: number, what: string): Promise<ResolvedAddress[]> {
    const bare = hostname.startsWith('[') ? hostname.slice(1, -1) : hostname;
    const urlHost = isIP(bare) === 6 ? `[${bare}]` : bare;
    try {
      if (this.isExempt(`${urlHost}:${port}`, urlHost)) {
        return isIP(bare) ? [{ address: bare, family: isIP(bare) === 6 ? 6 : 4 }] : await this.resolver.resolve(bare);
      }
      return await this.vet(bare);
    } catch (error) {
      if (error instanceof AddressRefused) throw refusal(what, error.message);
      throw lookupFailure(bare, error);
    }
  }
}

export function refusal(what: string, reason: string): FetchRefusedError {
  return new FetchRefusedError(
    `Refused to ${what}: ${reason}. Private, loopback and link-local targets are blocked (FETCH_ALLOW_PRIVATE)`,
  );
}
