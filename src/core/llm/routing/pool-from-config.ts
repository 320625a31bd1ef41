import type { CallerContext } from '../../../common/auth/caller-context';
import type { AppConfig } from '../../../config/app-config';
import type { TargetSettings } from '../../../config/routing-settings';
import { OllamaBackend } from '../backends/ollama/ollama.backend';
import { OpenAiBackend } from '../backends/openai/openai.backend';
import type { LlmBackend } from '../llm-backend';
import type { SharedSlots } from './shared-slots';
import { Target } from './target';
import { TargetPool } from './target-pool';

/** The adapter for one target: it talks to that server only. */
export function backendFor(settings: TargetSettings, { llm }: Pick<AppConfig, 'llm'>): LlmBackend {
  const options = { maxConnections: llm.maxConnections, maxLineBytes: llm.maxLineBytes };
  return settings.kind === 'openai' ? new OpenAiBackend(settings.url, settings.apiKey, options) : new OllamaBackend(settings.url, options);
}

/** A target with its adapter and its own breaker; its places counted with other instances' when `shared` is given. */
export function targetFor(settings: TargetSettings, config: Pick<AppConfig, 'llm'>, shared?: SharedSlots): Target {
  return new Target(settings, backendFor(settings, config), config.llm.breaker, shared);
}

/**
 * The pool of every configured target, each with its adapter and its own breaker, and its
 * queue: a waiting request joins its caller's key's lane (one shared lane without a key).
 * With `shared` (Redis), the places on targets with a max concurrency are counted across instances.
 */
export function poolFromConfig(config: Pick<AppConfig, 'llm' | 'routing'>, caller?: CallerContext, shared?: SharedSlots): TargetPool {
  const targets = config.routing.targets.map((settings) => targetFor(settings, config, shared));
  return new TargetPool(
    targets,
    config.routing.strategy,
    {
      settings: config.routing.queue,
      caller: caller && (() => ({ key: caller.current()?.keyId ?? '', onPosition: caller.queueListener() })),
    },
    config.routing.aliases,
    config.routing.fallbacks,
  );
}
