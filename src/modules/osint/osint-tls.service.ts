import { Injectable } from '@nestjs/common';
import { isIP } from 'node:net';
import { checkServerIdentity, connect, type PeerCertificate, type TLSSocket } from 'node:tls';
import { AppConfig } from '../../config/app-config';
import { UpstreamError, UpstreamTimeoutError } from '../../common/errors/app-errors';
import { describeNetworkError } from '../../core/outbound/network-errors';
import { TargetGuard } from '../../core/outbound/target-guard';
import { SslCertResponseDto } from './dto/ssl-cert.dto';

const DAY_MS = 86_400_000;

/** Reads a server's TLS certificate, trusted or not (self-signed and expired ones included). */
@Injectable()
export class OsintTlsService {
  constructor(
    private readonly config: AppConfig,
    private readonly guard: TargetGuard,
  ) {}

  async certificate(host: string, port: number, signal?: AbortSignal): Promise<SslCertResponseDto> {
    const name = host.replace(/^\[|\]$/g, '');
    const [target] = await this.guard.addressesFor(name, port, `connect to ${name}:${port}`);
    const socket = await this.handshake(name, target.address, port, signal);
    try {
      const cert = socket.getPeerCertificate();
      if (!cert || Object.keys(cert).length === 0) throw new UpstreamError(`${name}:${port} sent no certificate`);
      // `authorized` covers the chain; the name is checked separately (we connect by address).
      const identity = checkServerIdentity(name, cert);
      const authorizationError = socket.authorizationError ? String(socket.authorizationError) : (identity?.message ?? null);
      const notAfter = new Date(cert.valid_to);
      return {
        host: name,
        port,
        subject: fields(cert.subject),
        issuer: fields(cert.issuer),
        not_before: new Date(cert.valid_from).toISOString(),
        not_after: notAfter.toISOString(),
        days_left: Math.floor((notAfter.getTime() - Date.now()) / DAY_MS),
        san: (cert.subjectaltname ?? '')
          .split(',')
          .map((entry) => entry.trim().replace(/^(DNS|IP Address):/, ''))
          .filter(Boolean),
        fingerprint256: cert.fingerprint256,
        serial: cert.serialNumber,
        authorized: socket.authorized && !identity,
        authorization_error: authorizationError,
        protocol: socket.getProtocol(),
      };
    } finally {
      socket.destroy();
    }
  }

  private handshake(name: string, address: string, port: number, signal?: AbortSignal): Promise<TLSSocket> {
    const timeoutMs = this.config.outbound.timeoutMs;
    return new Promise((resolve, reject) => {
      const socket = connect({
        host: address,
        port,
        servername: isIP(name) ? undefined : name,
        rejectUnauthorized: false,
      });
      const onAbort = () => socket.destroy(new Error('The client went away'));
      signal?.addEventListener('abort', onAbort, { once: true });
      socket.once('close', () => signal?.removeEventListener('abort', onAbort));
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new UpstreamTimeoutError(`${name}:${port} did not complete a TLS handshake within ${timeoutMs / 1000} s`));
      }, timeoutMs);
      socket.once('secureConnect', () => {
        clearTimeout(timer);
        resolve(socket);
      });
      socket.once('error', (error) => {
        clearTimeout(timer);
        reject(new UpstreamError(`TLS connection to ${name}:${port} failed: ${describeNetworkError(error)}`, { cause: error }));
      });
    });
  }
}

function fields(entries: PeerCertificate['subject'] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(entries ?? {})) out[key] = Array.isArray(value) ? value.join(', ') : String(value);
  return out;
}
