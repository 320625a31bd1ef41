import type { BackendUsage } from '../llm/llm-backend';
import { CounterFamily, CounterSeries } from './metric-families';

/** The label of every key past `METRICS_MAX_KEYS`. */
export const OTHER_KEY = 'other';

interface KeySeries {
  requests: CounterSeries;
  prompt: CounterSeries;
  completion: CounterSeries;
}

/**
 * Model calls and tokens by the NAME of the key that made them. The first `maxKeys` names seen
 * get their own label value; later ones (and a key named `other`) are counted as `other`, so a team
 * that mints keys cannot grow the series without bound.
 */
export class KeyMetrics {
  readonly requests = new CounterFamily('vega_key_requests_total', 'Model calls by the name of the API key that made them (keys beyond METRICS_MAX_KEYS: other).', ['key']);
  readonly tokens = new CounterFamily('vega_key_tokens_total', 'Tokens by API key name and type (prompt, completion) (keys beyond METRICS_MAX_KEYS: other).', ['key', 'type']);
  private readonly byName = new Map<string, KeySeries>();
  private other?: KeySeries;

  constructor(private readonly maxKeys: number) {}

  record(keyName: string, usage?: BackendUsage): void {
    const series = this.seriesFor(keyName);
    series.requests.inc();
    if (!usage) return;
    series.prompt.inc(usage.promptTokens);
    series.completion.inc(usage.completionTokens);
  }

  private seriesFor(name: string): KeySeries {
    const found = this.byName.get(name);
    if (found) return found;
    if (this.byName.size >= this.maxKeys || name === OTHER_KEY) return (this.other ??= this.create(OTHER_KEY));
    const created = this.create(name);
    this.byName.set(name, created);
    return created;
  }

  private create(label: string): KeySeries {
    return { requests: this.requests.with(label), prompt: this.tokens.with(label, 'prompt'), completion: this.tokens.with(label, 'completion') };
  }
}
