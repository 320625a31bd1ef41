import { AppError, InvalidInputError, UpstreamError } from '../../common/errors/app-errors';

const FRIENDLY: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ENOTFOUND: 'host not found',
  EBADNAME: 'not a valid host name',
  ENODATA: 'host has no address',
  EAI_AGAIN: 'DNS look-up failed',
  ETIMEOUT: 'DNS look-up timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  UND_ERR_CONNECT_TIMEOUT: 'connect timeout',
  UND_ERR_SOCKET: 'connection closed by the server',
  ERR_TLS_CERT_ALTNAME_INVALID: 'TLS certificate does not match the host',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'self-signed TLS certificate',
  CERT_HAS_EXPIRED: 'expired TLS certificate',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'untrusted TLS certificate',
  SELF_SIGNED_CERT_IN_CHAIN: 'self-signed TLS certificate in the chain',
};

/** A short human reason for a network error, looking through AggregateError and `cause`. */
export function describeNetworkError(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length > 0) return describeNetworkError(error.errors[0]);
  const code = (error as { code?: string } | null)?.code;
  if (code && FRIENDLY[code]) return FRIENDLY[code];
  const cause = (error as { cause?: unknown } | null)?.cause;
  if (cause) return describeNetworkError(cause);
  return error instanceof Error ? error.message : String(error);
}

/**
 * A failed look-up of `name` as an app error: 400 when the name is not a host name at all
 * (the resolver's EBADNAME), else 502 naming the reason ("host not found").
 */
export function lookupFailure(name: string, error: unknown): AppError {
  if (error instanceof AppError) return error;
  if ((error as { code?: unknown } | null)?.code === 'EBADNAME') return new InvalidInputError(`${name} is not a valid host name`);
  return new UpstreamError(`Could not resolve ${name}: ${describeNetworkError(error)}`, { cause: error });
}
