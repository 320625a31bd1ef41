import { Injectable } from '@nestjs/common';
import { isIP, Socket } from 'node:net';
import { mapLimit } from '../../common/async/map-limit';
import { ForbiddenTargetError } from '../../common/errors/app-errors';
import { AppConfig } from '../../config/app-config';
import { HostResolver } from '../../core/outbound/host-resolver';
import { cidrContains } from '../../core/outbound/ip-address';
import { lookupFailure } from '../../core/outbound/network-errors';

export type PortState = 'open' | 'closed' | 'filtered';

export interface ScanRequest {
  host: string;
  ports: readonly number[];
  timeoutMs: number;
  concurrency: number;
  signal?: AbortSignal;
}

/**
 * A TCP connect scan, only of hosts NET_SCAN_ALLOW covers: the host and every address it
 * resolves to are checked before the first connection is tried.
 */
@Injectable()
export class NetScanService {
  constructor(
    private readonly config: AppConfig,
    private readonly resolver: HostResolver,
  ) {}

  async scan({ host, ports, timeoutMs, concurrency, signal }: ScanRequest): Promise<{ host: string; address: string; results: { port: number; state: PortState }[] }> {
    const address = await this.allowedAddress(host);
    const distinct = [...new Set(ports)];
    const results = await mapLimit(distinct, concurrency, async (port) => ({ port, state: await probe(address, port, timeoutMs, signal) }));
    return { host, address, results };
  }

  /** The address to scan; a 403 naming NET_SCAN_ALLOW unless every address of `host` is allowed. */
  private async allowedAddress(host: string): Promise<string> {
    const bare = host.replace(/^\[|\]$/g, '');
    const addresses = isIP(bare) ? [bare] : await this.resolve(bare);
    const allowed = await this.allowedRanges();
    const outside = addresses.filter((address) => !allowed.some((range) => cidrContains(range, address)));
    if (outside.length > 0) {
      const which = isIP(bare) ? bare : `${bare} (${outside.join(', ')})`;
      throw new ForbiddenTargetError(`${which} is not in NET_SCAN_ALLOW (${this.config.net.scanAllow.join(', ') || 'empty'}); only those hosts may be scanned`);
    }
    return addresses[0];
  }

  /** NET_SCAN_ALLOW as addresses and CIDR ranges; its host names are resolved now. */
  private async allowedRanges(): Promise<string[]> {
    const ranges = await Promise.all(
      this.config.net.scanAllow.map(async (entry) => {
        if (isIP(entry.split('/')[0])) return [entry];
        return (await this.resolver.resolve(entry).catch(() => [])).map((found) => found.address);
      }),
    );
    return ranges.flat();
  }

  private async resolve(name: string): Promise<string[]> {
    try {
      return (await this.resolver.resolve(name)).map((found) => found.address);
    } catch (error) {
      throw lookupFailure(name, error);
    }
  }
}

/** open: accepted; closed: refused; filtered: no answer in time, or unreachable. */
export function probe(address: string, port: number, timeoutMs: number, signal?: AbortSignal): Promise<PortState> {
  return new Promise((resolve) => {
    const socket = new Socket();
    let settled = false;
    const finish = (state: PortState) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      socket.destroy();
      resolve(state);
    };
    const onAbort = () => finish('filtered');
    const timer = setTimeout(() => finish('filtered'), timeoutMs);
    signal?.addEventListener('abort', onAbort, { once: true });
    socket.once('connect', () => finish('open'));
    socket.once('error', (error: NodeJS.ErrnoException) => finish(stateOf(error.code)));
    socket.connect({ host: address, port });
  });
}

export function stateOf(code: string | undefined): PortState {
  return code === 'ECONNREFUSED' || code === 'ECONNRESET' ? 'closed' : 'filtered';
}
