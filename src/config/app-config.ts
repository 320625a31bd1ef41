import { resolve } from 'node:path';
import { existsSync } from 'node:fs';
import { envSchema, ParsedEnv } from './config.schema';
import { parseDatabaseUrl, redactDatabaseUrl } from './database-url';
import type { EffectiveLimits } from '../core/limits/usage-limiter';
import { BackendsFile, BackendsFileError, readBackendsFile } from './backends-file';
import { resolveAlias, resolveFallbacks, RoutingSettings, targetsFromUrls } from './routing-settings';

export type SlackNotifyKind = ParsedEnv['SLACK_NOTIFY'][number];

export interface GenerationDefaults {
  temperature: number;
  top_p: number;
  top_k: number;
  repeat_penalty: number;
  presence_penalty: number;
  frequency_penalty: number;
  dynamic: boolean;
}

/** The typed, frozen configuration, parsed once at bootstrap and injected as `AppConfig`. */
export abstract class AppConfig {
  /**
   * `corsOrigins` (`CORS_ORIGINS`): browser origins allowed to call the API; empty turns CORS off.
   * `shutdownGraceMs` (`SHUTDOWN_GRACE_SEC`): how long a shutdown lets requests in flight finish.
   * `memoryTrimIdleMs` (`MEMORY_TRIM_IDLE_SEC`): how long the server must be idle, after work, before
   * it hands its spare heap back to the system; 0 never does.
   */
  abstract readonly http: {
    host: string;
    port: number;
    bodyLimitBytes: number;
    corsOrigins: readonly string[];
    shutdownGraceMs: number;
    memoryTrimIdleMs: number;
  };
  abstract readonly dataDir: string;
  /**
   * `DATABASE_URL` chooses the engine: `sqlite:<path>` (the default, `<data dir>/vega.db`) or
   * `postgres://…`. `busyTimeoutMs` (`DB_BUSY_TIMEOUT_SEC`): how long one statement waits for a lock
   * held by another connection. `writeWaitMs` (`DB_WRITE_WAIT_SEC`): how long storing an exchange
   * keeps retrying while the database stays locked or unreachable, before the exchange goes to
   * `spoolPath` (replayed later). PostgreSQL: `url` holds the password (a secret: show it through
   * `redactDatabaseUrl`), `poolSize` (`DB_POOL_SIZE`), `statementTimeoutMs` (`DB_STATEMENT_TIMEOUT_SEC`, on the
   * server), `queryTimeoutMs` (`DB_QUERY_TIMEOUT_SEC`, the client's wait for any answer; 0: none),
   * `connectTimeoutMs` (`DB_CONNECT_TIMEOUT_SEC`).
   * `migrationsRun` (`MIGRATIONS_RUN`): false leaves the migrations to `vega db migrate`.
   */
  abstract readonly database:
    | { type: 'sqlite'; path: string; busyTimeoutMs: number; writeWaitMs: number; spoolPath: string; migrationsRun: boolean }
    | {
        type: 'postgres';
        url: string;
        poolSize: number;
        statementTimeoutMs: number;
        queryTimeoutMs: number;
        connectTimeoutMs: number;
        writeWaitMs: number;
        spoolPath: string;
        migrationsRun: boolean;
      };
  /**
   * Redis for the state several instances share (`REDIS_URL`; absent: everything stays in the
   * process): requests and tokens per minute, concurrent streams and budgets, the answer cache's
   * second level, and change notices. `timeoutMs` (`REDIS_TIMEOUT_MS`) bounds every call;
   * `prefix` (`REDIS_PREFIX`) starts every key; `budgetsWhenDown` (`BUDGETS_WHEN_REDIS_DOWN`):
   * while Redis cannot be reached, budgets are not enforced (`open`) or refuse (`closed`).
   * `urls`: one node, or with `cluster` (`REDIS_CLUSTER`) the seed nodes of a Redis Cluster.
   */
  abstract readonly redis?: { urls: readonly string[]; cluster: boolean; timeoutMs: number; prefix: string; budgetsWhenDown: 'open' | 'closed' };
  /** `API_KEY` (may be absent: the HTTP entry point then generates one) and `API_KEYS_EXTRA`. */
  abstract readonly auth: { apiKey?: string; extraKeys: readonly string[] };
  /**
   * `urls` are the targets' base URLs (`OLLAMA_URL`, or `OPENAI_BASE_URL` for `LLM_BACKEND=openai`,
   * or `BACKENDS_FILE`'s) and `backend` the first target's kind; `ollamaUrls` are `OLLAMA_URL`, or
   * the file's Ollama targets (model registration talks to Ollama).
   * `apiKey` (`OPENAI_API_KEY`) is sent as a bearer token to the OpenAI-compatible server: a secret.
   * `maxLineBytes` (`BACKEND_MAX_LINE_BYTES`): the longest line (NDJSON) or event (SSE) a backend may
   * send; `maxConnections` (`BACKEND_MAX_CONNECTIONS`): the connection pool's size per backend host.
   */
  /** The model servers (targets), the strategy among them, aliases, fallbacks, Vega's queue (see `routing-settings.ts`). */
  abstract readonly routing: RoutingSettings;
  abstract readonly llm: {
    backend: 'ollama' | 'openai';
    urls: readonly string[];
    ollamaUrls: readonly string[];
    apiKey?: string;
    model: string;
    timeoutMs: number;
    firstTokenTimeoutMs: number;
    idleTimeoutMs: number;
    maxRetries: number;
    retryBackoffMs: number;
    maxLineBytes: number;
    maxConnections: number;
    breaker: { failThreshold: number; resetMs: number };
    cache: { ttlMs: number; maxEntries: number };
    systemPromptFile?: string;
  };
  /**
   * The context guard (see `core/llm/context-guard.ts`). `overflow` (`CONTEXT_OVERFLOW`): what a prompt
   * too long for the model's context gets, a 400 or a bigger `num_ctx`; `maxNumCtx`
   * (`CONTEXT_MAX_NUM_CTX`): the largest `num_ctx` it may raise to; `defaultNumCtx`
   * (`CONTEXT_DEFAULT_NUM_CTX`): the context Ollama is assumed to use when neither the request nor the
   * Modelfile sets `num_ctx`.
   */
  abstract readonly context: { overflow: 'refuse' | 'raise_num_ctx'; maxNumCtx: number; defaultNumCtx: number };
  abstract readonly chat: { maxPromptChars: number; maxResponseChars: number; memoryTurns: number; heartbeatMs: number };
  abstract readonly generation: Readonly<GenerationDefaults>;
  /**
   * Requests per minute per key (`RATE_LIMIT_*`), and wrong keys per client address within a window
   * (`AUTH_FAILURE_*`) before the address is refused; 0 switches either off.
   */
  abstract readonly rateLimit: {
    perMinute: number;
    overrides: Readonly<Record<string, number>>;
    authFailures: { limit: number; windowMs: number };
  };
  /**
   * The limits and budgets of a key that does not set its own (`KEY_DEFAULT_*`; 0: none), the
   * environment's keys included (see `core/limits/`).
   */
  abstract readonly keyLimits: Readonly<EffectiveLimits>;
  /** `STORE_IMAGES`: stored requests keep images' bytes, not only their `{mime, bytes, sha256}` references. */
  abstract readonly privacy: { piiMasking: boolean; storeImages: boolean };
  /** `RETENTION_DAYS`: > 0 purges conversations older than that many days, daily. */
  abstract readonly retention: { days: number };
  /** `SEARCH_RANK_MATCHES`: relevance-sorted search ranks the newest this many matches of a search. */
  abstract readonly history: { rankMatches: number };
  /** `HEALTH_PROBE_SECONDS`: how often the background probe checks the model backend. */
  abstract readonly health: { probeIntervalMs: number };
  /** `METRICS_TOKEN`: when set, `GET /metrics` needs it as a bearer token; `METRICS_MAX_KEYS`: key names labelled, the rest `other`. */
  abstract readonly metrics: { token?: string; maxKeys: number };
  /** The one outbound fetcher (research, OSINT): SSRF policy, limits and the DNS servers it asks. */
  abstract readonly outbound: {
    allowPrivate: boolean;
    /** `host` or `host:port` entries (as URL hosts) exempt from the private-address check. */
    allowHosts: readonly string[];
    timeoutMs: number;
    maxBytes: number;
    /** Empty: the system resolver (`/etc/hosts`, then DNS). */
    dnsServers: readonly string[];
  };
  /**
   * Images given with a message (`ImageResolver`): `maxBytes` (`IMAGE_MAX_BYTES`) caps one decoded
   * image; `fetchTimeoutMs` (`IMAGE_FETCH_TIMEOUT_SEC`) bounds fetching one given by URL.
   */
  abstract readonly images: { maxBytes: number; fetchTimeoutMs: number };
  abstract readonly search: {
    provider: 'duckduckgo' | 'searxng';
    searxngUrl?: string;
    duckduckgoHtmlUrl: string;
    duckduckgoUrl: string;
  };
  abstract readonly research: { embedModel?: string };
  abstract readonly osint: {
    usernameSitesFile?: string;
    rdapBootstrapUrl: string;
    /** `host` or `host:port` (default port 43). */
    whoisServer: string;
  };
  /** Hosts and CIDR ranges `/net/scan` may touch. */
  abstract readonly net: { scanAllow: readonly string[] };
  /**
   * `SLACK_WEBHOOK_URL` (a secret: never logged, redacted in `/admin/status`), the kinds of
   * events announced there (`SLACK_NOTIFY`), and the least time between two messages of one
   * kind (`SLACK_NOTIFY_INTERVAL_SEC`).
   */
  abstract readonly slack: { webhookUrl?: string; notify: readonly SlackNotifyKind[]; notifyIntervalMs: number };
  abstract readonly logLevel: ParsedEnv['LOG_LEVEL'];
}

/** Raised for an invalid environment; its message is the one line the process prints before exiting. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

const DEFAULT_SYSTEM_PROMPT_FILE = 'prompts/system_prompt.txt';

/**
 * Parses the environment into an `AppConfig`. Pure apart from one `existsSync` for the
 * default system prompt file; never reads the disk otherwise, so it is cheap for the CLI.
 */
export function loadConfig(env: NodeJS.ProcessEnv): AppConfig {
  const parsed = envSchema.safeParse(pickKnown(env));
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const name = String(issue.path[0] ?? 'environment');
      const raw = env[name];
      const shown = raw === undefined || /KEY|TOKEN|WEBHOOK|REDIS_URL/.test(name) ? '' : ` (got "${name === 'DATABASE_URL' ? redactDatabaseUrl(raw) : raw}")`;
      return `${name} ${issue.message}${shown}`;
    });
    throw new ConfigError(`Invalid configuration: ${problems.join('; ')}`);
  }
  return deepFreeze(toAppConfig(parsed.data, env));
}

function pickKnown(env: NodeJS.ProcessEnv): Record<string, string> {
  const known: Record<string, string> = {};
  for (const key of Object.keys(envSchema.shape)) {
    const value = env[key];
    // An empty variable means "not set", like an unset one, so defaults apply.
    if (value !== undefined && value.trim() !== '') known[key] = value;
  }
  return known;
}

const trimSlashes = (url: string): string => url.replace(/\/+$/, '');

/** The hosts of `OLLAMA_URL`, or of `OPENAI_BASE_URL` with `LLM_BACKEND=openai`. */
function listedUrls(env: ParsedEnv): string[] {
  return (env.LLM_BACKEND === 'openai' ? env.OPENAI_BASE_URL : env.OLLAMA_URL).map(trimSlashes);
}

/**
 * `REDIS_URL` and `REDIS_CLUSTER` together. A cluster has database 0 only, and its hash tags must
 * be the ones Vega puts in its keys: a brace in the prefix would make the prefix the tag (every
 * key on one node) or, as `{}`, no tag at all (a script's keys on several nodes: CROSSSLOT).
 */
function redisSettings(env: ParsedEnv): Pick<AppConfig, 'redis'> {
  const urls = env.REDIS_URL;
  if (urls.length === 0) {
    if (env.REDIS_CLUSTER) throw new ConfigError('Invalid configuration: REDIS_CLUSTER needs REDIS_URL (one or more seed nodes of the cluster, comma-separated)');
    return {};
  }
  if (!env.REDIS_CLUSTER && urls.length > 1) {
    throw new ConfigError('Invalid configuration: REDIS_URL lists several nodes: set REDIS_CLUSTER=true for a Redis Cluster, or give one URL');
  }
  if (env.REDIS_CLUSTER) {
    if (urls.some((url) => !/^\/?0?$/.test(new URL(url).pathname))) {
      throw new ConfigError('Invalid configuration: REDIS_URL must not name a database with REDIS_CLUSTER (a cluster has database 0 only)');
    }
    if (/[{}]/.test(env.REDIS_PREFIX)) {
      throw new ConfigError('Invalid configuration: REDIS_PREFIX must not contain { or } with REDIS_CLUSTER (Vega puts the hash tags in its keys)');
    }
  }
  return { redis: { urls, cluster: env.REDIS_CLUSTER, timeoutMs: env.REDIS_TIMEOUT_MS, prefix: env.REDIS_PREFIX, budgetsWhenDown: env.BUDGETS_WHEN_REDIS_DOWN } };
}

function backendsFile(path: string, env: NodeJS.ProcessEnv): BackendsFile {
  try {
    return readBackendsFile(path, env);
  } catch (error) {
    throw error instanceof BackendsFileError ? new ConfigError(`Invalid configuration: ${error.message}`) : error;
  }
}

function toAppConfig(env: ParsedEnv, raw: NodeJS.ProcessEnv): AppConfig {
  if (env.SEARCH_PROVIDER === 'searxng' && !env.SEARXNG_URL) {
    throw new ConfigError('Invalid configuration: SEARXNG_URL must be set when SEARCH_PROVIDER is searxng');
  }
  checkSlack(env);
  if (env.LLM_BACKEND === 'openai' && env.OPENAI_BASE_URL.length === 0 && !env.BACKENDS_FILE) {
    throw new ConfigError('Invalid configuration: OPENAI_BASE_URL must be set when LLM_BACKEND is openai (e.g. http://127.0.0.1:8080/v1)');
  }
  if (env.CONTEXT_MAX_NUM_CTX < env.CONTEXT_DEFAULT_NUM_CTX) {
    throw new ConfigError('Invalid configuration: CONTEXT_MAX_NUM_CTX must not be below CONTEXT_DEFAULT_NUM_CTX');
  }
  const file = env.BACKENDS_FILE ? backendsFile(resolve(env.BACKENDS_FILE), raw) : undefined;
  const targets = file?.targets ?? targetsFromUrls(env.LLM_BACKEND, listedUrls(env), env.OPENAI_API_KEY);
  // With a file, model management (pull, create, delete) talks to its Ollama targets.
  const ollamaUrls = file ? targets.filter((target) => target.kind === 'ollama').map((target) => target.url) : env.OLLAMA_URL.map(trimSlashes);
  const dataDir = resolve(env.VEGA_DATA_DIR);
  const systemPromptFile =
    env.SYSTEM_PROMPT_FILE ?? (existsSync(DEFAULT_SYSTEM_PROMPT_FILE) ? DEFAULT_SYSTEM_PROMPT_FILE : undefined);
  return {
    // The JSON body of a chat request is bounded by the prompt limit (UTF-8 may take 4 bytes
    // a character, JSON escaping up to 6) plus room for the other fields.
    http: {
      host: env.HOST,
      port: env.PORT,
      bodyLimitBytes: Math.max(64 * 1024, env.MAX_PROMPT_CHARS * 6 + 16 * 1024),
      corsOrigins: env.CORS_ORIGINS.map((item) => item.replace(/\/+$/, '').toLowerCase()),
      shutdownGraceMs: Math.round(env.SHUTDOWN_GRACE_SEC * 1000),
      memoryTrimIdleMs: Math.round(env.MEMORY_TRIM_IDLE_SEC * 1000),
    },
    dataDir,
    database: databaseSettings(env, dataDir),
    auth: { apiKey: env.API_KEY, extraKeys: env.API_KEYS_EXTRA },
    ...redisSettings(env),
    llm: {
      backend: targets[0].kind,
      urls: targets.map((target) => target.url),
      ollamaUrls,
      apiKey: env.OPENAI_API_KEY,
      // The file's `default` alias is what a request naming no model gets; MODEL_NAME without one.
      model: file?.aliases.default ? resolveAlias(file.aliases, 'default') : env.MODEL_NAME,
      timeoutMs: Math.round(env.LLM_TIMEOUT_SEC * 1000),
      firstTokenTimeoutMs: Math.round(env.LLM_FIRST_TOKEN_TIMEOUT_SEC * 1000),
      idleTimeoutMs: Math.round(env.LLM_IDLE_TIMEOUT_SEC * 1000),
      maxRetries: env.LLM_MAX_RETRIES,
      retryBackoffMs: Math.round(env.LLM_RETRY_BACKOFF * 1000),
      maxLineBytes: env.BACKEND_MAX_LINE_BYTES,
      maxConnections: env.BACKEND_MAX_CONNECTIONS,
      breaker: { failThreshold: env.BREAKER_FAIL_THRESHOLD, resetMs: Math.round(env.BREAKER_RESET_SECONDS * 1000) },
      cache: { ttlMs: Math.round(env.CACHE_TTL_SECONDS * 1000), maxEntries: env.CACHE_MAX_ENTRIES },
      systemPromptFile: systemPromptFile ? resolve(systemPromptFile) : undefined,
    },
    routing: {
      targets,
      strategy: file?.strategy ?? env.ROUTING_STRATEGY,
      aliases: file?.aliases ?? {},
      fallbacks: file ? resolveFallbacks(file.fallbacks, file.aliases) : {},
      queue: { maxLength: env.QUEUE_MAX_LENGTH, maxWaitMs: Math.round(env.QUEUE_MAX_WAIT_SEC * 1000) },
      discoveryIntervalMs: Math.round(env.MODELS_REFRESH_SEC * 1000),
      loadedPollIntervalMs: Math.round(env.LOADED_POLL_SEC * 1000),
      ...(file ? { file: resolve(env.BACKENDS_FILE!) } : {}),
    },
    context: { overflow: env.CONTEXT_OVERFLOW, maxNumCtx: env.CONTEXT_MAX_NUM_CTX, defaultNumCtx: env.CONTEXT_DEFAULT_NUM_CTX },
    chat: {
      maxPromptChars: env.MAX_PROMPT_CHARS,
      maxResponseChars: env.MAX_RESPONSE_CHARS,
      memoryTurns: env.MEMORY_TURNS,
      heartbeatMs: Math.round(env.SSE_HEARTBEAT_SECONDS * 1000),
    },
    generation: {
      temperature: env.GEN_TEMPERATURE,
      top_p: env.GEN_TOP_P,
      top_k: env.GEN_TOP_K,
      repeat_penalty: env.GEN_REPEAT_PENALTY,
      presence_penalty: env.GEN_PRESENCE_PENALTY,
      frequency_penalty: env.GEN_FREQUENCY_PENALTY,
      dynamic: env.GEN_DYNAMIC,
    },
    rateLimit: {
      perMinute: env.RATE_LIMIT_PER_MINUTE,
      overrides: env.RATE_LIMIT_OVERRIDES,
      authFailures: { limit: env.AUTH_FAILURE_LIMIT, windowMs: env.AUTH_FAILURE_WINDOW_SEC * 1000 },
    },
    keyLimits: {
      tokensPerMinute: env.KEY_DEFAULT_TOKENS_PER_MINUTE,
      concurrentStreams: env.KEY_DEFAULT_CONCURRENT_STREAMS,
      tokensPerDay: env.KEY_DEFAULT_TOKENS_PER_DAY,
      tokensPerMonth: env.KEY_DEFAULT_TOKENS_PER_MONTH,
      modelSecondsPerDay: env.KEY_DEFAULT_MODEL_SECONDS_PER_DAY,
    },
    privacy: { piiMasking: env.PII_MASKING, storeImages: env.STORE_IMAGES },
    retention: { days: env.RETENTION_DAYS },
    history: { rankMatches: env.SEARCH_RANK_MATCHES },
    health: { probeIntervalMs: Math.round(env.HEALTH_PROBE_SECONDS * 1000) },
    metrics: { token: env.METRICS_TOKEN, maxKeys: env.METRICS_MAX_KEYS },
    outbound: {
      allowPrivate: env.FETCH_ALLOW_PRIVATE,
      allowHosts: env.FETCH_ALLOW_HOSTS.map((entry) => new URL(`http://${entry}`).host),
      timeoutMs: Math.round(env.FETCH_TIMEOUT_SEC * 1000),
      maxBytes: env.FETCH_MAX_BYTES,
      dnsServers: env.DNS_SERVERS,
    },
    images: { maxBytes: env.IMAGE_MAX_BYTES, fetchTimeoutMs: Math.round(env.IMAGE_FETCH_TIMEOUT_SEC * 1000) },
    search: {
      provider: env.SEARCH_PROVIDER,
      searxngUrl: env.SEARXNG_URL?.replace(/\/+$/, ''),
      duckduckgoHtmlUrl: env.DUCKDUCKGO_HTML_URL,
      duckduckgoUrl: env.DUCKDUCKGO_URL.replace(/\/+$/, ''),
    },
    research: { embedModel: env.EMBED_MODEL },
    osint: {
      usernameSitesFile: env.USERNAME_SITES_FILE ? resolve(env.USERNAME_SITES_FILE) : undefined,
      rdapBootstrapUrl: env.RDAP_BOOTSTRAP_URL,
      whoisServer: env.WHOIS_SERVER,
    },
    net: { scanAllow: env.NET_SCAN_ALLOW },
    slack: {
      webhookUrl: env.SLACK_WEBHOOK_URL,
      notify: env.SLACK_NOTIFY,
      notifyIntervalMs: Math.round(env.SLACK_NOTIFY_INTERVAL_SEC * 1000),
    },
    logLevel: env.LOG_LEVEL,
  };
}

/** The webhook must be Slack's own (https://hooks.slack.com/…) unless SLACK_ALLOW_ANY_URL; never echoed: it is a secret. */
/** `config.database` from `DATABASE_URL` and its siblings (the schema has checked the URL's scheme). */
function databaseSettings(env: ParsedEnv, dataDir: string): AppConfig['database'] {
  const shared = {
    writeWaitMs: Math.round(env.DB_WRITE_WAIT_SEC * 1000),
    spoolPath: resolve(dataDir, 'pending-exchanges.jsonl'),
    migrationsRun: env.MIGRATIONS_RUN,
  };
  const location = env.DATABASE_URL ? parseDatabaseUrl(env.DATABASE_URL) : undefined;
  if (location?.type === 'postgres') {
    return {
      ...location,
      poolSize: env.DB_POOL_SIZE,
      statementTimeoutMs: Math.round(env.DB_STATEMENT_TIMEOUT_SEC * 1000),
      queryTimeoutMs: Math.round(env.DB_QUERY_TIMEOUT_SEC * 1000),
      connectTimeoutMs: Math.round(env.DB_CONNECT_TIMEOUT_SEC * 1000),
      ...shared,
    };
  }
  const path = location?.path ?? resolve(dataDir, 'vega.db');
  return { type: 'sqlite', path, busyTimeoutMs: Math.round(env.DB_BUSY_TIMEOUT_SEC * 1000), ...shared };
}

function checkSlack(env: ParsedEnv): void {
  const url = env.SLACK_WEBHOOK_URL === undefined ? undefined : new URL(env.SLACK_WEBHOOK_URL);
  if (url && !env.SLACK_ALLOW_ANY_URL && (url.protocol !== 'https:' || url.host !== 'hooks.slack.com' || url.pathname === '/')) {
    throw new ConfigError(
      'Invalid configuration: SLACK_WEBHOOK_URL must be a Slack incoming webhook (https://hooks.slack.com/services/…); SLACK_ALLOW_ANY_URL=true lifts this',
    );
  }
  if (!url && env.SLACK_NOTIFY.length > 0) {
    throw new ConfigError('Invalid configuration: SLACK_NOTIFY needs SLACK_WEBHOOK_URL to be set');
  }
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
