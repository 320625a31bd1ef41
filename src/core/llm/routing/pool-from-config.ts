import type { AppConfig } from '../../../config/app-config';
import { OllamaBackend } from '../backends/ollama/ollama.backend';
import { OpenAiBackend } from '../backends/openai/openai.backend';
import type { LlmBackend } from '../llm-backend';
import { Target, TargetSettings } from './target';
import { TargetPool } from './target-pool';

/**
 * The targets today's variables describe: one per `OLLAMA_URL` host (or `OPENAI_BASE_URL` host
 * with `LLM_BACKEND=openai`), named by `host:port`, equal weights, no concurrency limit, models
 * discovered.
 */
export function targetsFromUrls({ llm }: Pick<AppConfig, 'llm'>): TargetSettings[] {
  const names = new Map<string, number>();
  return llm.urls.map((url) => {
    const host = new URL(url).host;
    const seen = (names.get(host) ?? 0) + 1;
    names.set(host, seen);
    return {
      name: seen === 1 ? host : `${host}-${seen}`,
      kind: llm.backend,
      url,
      ...(llm.backend === 'openai' && llm.apiKey ? { apiKey: llm.apiKey } : {}),
      weight: 1,
      maxConcurrency: 0,
    };
  });
}

/** The adapter for one target: it talks to that server only. */
export function backendFor(settings: TargetSettings, { llm }: Pick<AppConfig, 'llm'>): LlmBackend {
  const options = { maxConnections: llm.maxConnections, maxLineBytes: llm.maxLineBytes };
  return settings.kind === 'openai' ? new OpenAiBackend(settings.url, settings.apiKey, options) : new OllamaBackend(settings.url, options);
}

/** The pool of every configured target, each with its adapter and its own breaker. */
export function poolFromConfig(config: Pick<AppConfig, 'llm'>): TargetPool {
  const targets = targetsFromUrls(config).map((settings) => new Target(settings, backendFor(settings, config), config.llm.breaker));
  return new TargetPool(targets, config.llm.strategy);
}
