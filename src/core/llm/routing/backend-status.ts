import { redactText } from '../../logging/redact';
import type { BreakerState } from '../resilience/circuit-breaker';
import type { TargetKind } from '../../../config/routing-settings';
import type { Target } from './target';

/** What the last health probe of one target found. */
export interface TargetHealth {
  /** The probe reached the server. */
  up: boolean;
  /** How long the probe took, in milliseconds (also when it failed). */
  latencyMs: number;
  /** When it finished. */
  checkedAt: Date;
  /** The server's version (Ollama), from a probe that reached it. */
  version: string | null;
  /** Why it failed (credentials redacted). */
  error: string | null;
  /** The models it listed; null when it is down or its list could not be read. */
  models: string[] | null;
}

/** One target as the admin views show it (`GET /admin/backends`, `vega backends`). */
export interface BackendStatus {
  name: string;
  kind: TargetKind;
  /** Its URL with any credentials in it redacted. */
  url: string;
  /** The last health probe's verdict; `unknown` before the first. */
  health: 'up' | 'down' | 'unknown';
  healthCheckedAt: Date | null;
  /** Why the last probe failed. */
  healthError: string | null;
  breaker: BreakerState;
  inFlight: number;
  /** 0: no limit. */
  maxConcurrency: number;
  /** Requests waiting in Vega's queue for a model it serves (any target of that model may take them). */
  queued: number;
  loadedModels: readonly string[];
  /** What it serves (configured or discovered); null while not known. */
  models: readonly string[] | null;
  /** Median duration of its recent successful attempts; null before the first. */
  p50LatencyMs: number | null;
  /** Attempts it answered, and attempts that failed on its side (the breaker's count). */
  requests: number;
  errors: number;
  draining: boolean;
}

/** `queueLengths`: the requests waiting in Vega's queue, by model. */
export function backendStatus(target: Target, queueLengths: ReadonlyMap<string, number>): BackendStatus {
  let queued = 0;
  for (const [model, waiting] of queueLengths) if (target.serves(model)) queued += waiting;
  const health = target.health;
  return {
    name: target.name,
    kind: target.kind,
    url: redactText(target.url),
    health: health === undefined ? 'unknown' : health.up ? 'up' : 'down',
    healthCheckedAt: health?.checkedAt ?? null,
    healthError: health?.error ?? null,
    breaker: target.breaker.state,
    inFlight: target.inFlight,
    maxConcurrency: target.maxConcurrency,
    queued,
    loadedModels: target.loadedModels,
    models: target.models ?? null,
    p50LatencyMs: target.stats.p50Ms(),
    requests: target.stats.succeeded + target.stats.failed,
    errors: target.stats.failed,
    draining: target.draining,
  };
}
