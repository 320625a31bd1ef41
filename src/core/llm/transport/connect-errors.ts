import { errors as undiciErrors } from 'undici';
import { BackendError } from '../../../common/errors/app-errors';

/**
 * How a model server's connection fails, in one place for every backend adapter and the model
 * management client. The words for a failure come from `describeNetworkError`
 * (core/outbound/network-errors.ts), shared with the outbound fetcher.
 */

const CONNECT_ERROR_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
]);

/**
 * Whether the request never reached a working host: refused, unreachable, not resolved, or a
 * connection that broke before an answer. Such a failure may move on to the next host.
 */
export function isConnectError(error: unknown): boolean {
  const code = (error as { code?: string } | null)?.code;
  if (code && CONNECT_ERROR_CODES.has(code)) return true;
  return error instanceof undiciErrors.ConnectTimeoutError || error instanceof undiciErrors.SocketError;
}

/**
 * Whether a request made with undici's `request()` failed because the host closed a connection
 * it had accepted (the stream path knows this exactly, from whether the request was sent).
 */
export function closedByPeer(error: unknown): boolean {
  return (error as { code?: string } | null)?.code === 'UND_ERR_SOCKET';
}

/** A host that took the request and hung up without an answer: up but failing, so a retry may help. */
export function closedBeforeAnswering(name: string, base: string, error: unknown): BackendError {
  return new BackendError(`${name} at ${base} closed the connection before answering`, { retryable: true, cause: error });
}
