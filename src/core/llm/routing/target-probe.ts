import { redactText } from '../../logging/redact';
import type { TargetHealth } from './backend-status';
import type { Target } from './target';

/**
 * Asks one target whether it answers (its version; an OpenAI-compatible server's model list)
 * and what models it lists, within `timeoutMs` (or until `stop` aborts: shutdown does not wait
 * for a server that does not answer); never throws. The result is kept on the target for the
 * admin views.
 */
export async function probeTarget(target: Target, timeoutMs: number, stop?: AbortSignal): Promise<TargetHealth> {
  const started = performance.now();
  const signal = stop ? AbortSignal.any([AbortSignal.timeout(timeoutMs), stop]) : AbortSignal.timeout(timeoutMs);
  let health: TargetHealth;
  try {
    const version = await target.backend.version(signal);
    const latencyMs = performance.now() - started;
    const models = await target.backend.listModels(signal).then(
      (listed) => listed.map((model) => model.name),
      () => null,
    );
    health = { up: true, latencyMs, checkedAt: new Date(), version, error: null, models };
  } catch (error) {
    const reason = error instanceof DOMException && error.name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : errorText(error);
    health = { up: false, latencyMs: performance.now() - started, checkedAt: new Date(), version: null, error: redactText(reason), models: null };
  }
  target.health = health;
  return health;
}

const errorText = (error: unknown) => (error instanceof Error ? error.message : String(error));
