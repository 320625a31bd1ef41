import { isIP } from 'node:net';
import { z } from 'zod';
import { isPostgresUrl } from './database-url';

/**
 * The environment variables Vega reads (SPEC §2). Every value arrives as a string;
 * the schema coerces, bounds and defaults it. The keys are the variable names so
 * that a validation error names the variable the user has to fix.
 */
const int = (min: number, max: number) =>
  z.coerce
    .number({ error: `must be an integer between ${min} and ${max}` })
    .int({ error: `must be an integer between ${min} and ${max}` })
    .min(min, { error: `must be an integer between ${min} and ${max}` })
    .max(max, { error: `must be an integer between ${min} and ${max}` });

const num = (min: number, max: number) =>
  z.coerce
    .number({ error: `must be a number between ${min} and ${max}` })
    .min(min, { error: `must be a number between ${min} and ${max}` })
    .max(max, { error: `must be a number between ${min} and ${max}` });

const bool = () =>
  z.stringbool({
    truthy: ['true', '1', 'yes', 'on'],
    falsy: ['false', '0', 'no', 'off'],
    error: 'must be true or false',
  });

const optionalText = () =>
  z
    .string()
    .trim()
    .transform((value) => (value === '' ? undefined : value))
    .optional();

const commaList = () =>
  z
    .string()
    .default('')
    .transform((value) =>
      value
        .split(',')
        .map((item) => item.trim())
        .filter((item) => item.length > 0),
    );

const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' });

/** `host`, `host:port`, `[v6]` or `[v6]:port`, as the host part of an http URL. */
function isHostAndPort(entry: string): boolean {
  try {
    const url = new URL(`http://${entry}`);
    return url.pathname === '/' && !url.username && !url.search && !url.hash && url.host !== '';
  } catch {
    return false;
  }
}

/** A host name, an IP address, or a CIDR range of either family. */
function isScanTarget(entry: string): boolean {
  const [address, prefix, extra] = entry.split('/');
  if (extra !== undefined) return false;
  if (prefix !== undefined) {
    const family = isIP(address);
    return family !== 0 && /^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128);
  }
  return isIP(address) !== 0 || /^(?=.{1,253}$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,62})(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,62}))*\.?$/.test(address);
}

/** `1.2.3.4`, `1.2.3.4:53`, `::1`, `[::1]:53`: what `dns.Resolver#setServers` accepts. */
function isDnsServer(entry: string): boolean {
  if (isIP(entry)) return true;
  const match = /^\[([^\]]+)\]:(\d{1,5})$/.exec(entry) ?? /^([^:]+):(\d{1,5})$/.exec(entry);
  return match !== null && isIP(match[1]) !== 0 && Number(match[2]) <= 65535;
}
/** A browser origin: scheme, host and optional port, nothing after it (what the `Origin` header carries). */
const origin = z
  .string()
  .regex(/^https?:\/\/[^/?#\s]+\/?$/, { error: 'must list origins like https://app.example.com (scheme, host, port; no path)' });

export const envSchema = z.object({
  API_KEY: optionalText().refine((key) => key === undefined || key.length >= 16, {
    error: 'must be at least 16 characters long',
  }),
  API_KEYS_EXTRA: commaList().refine((keys) => keys.every((key) => key.length >= 16), {
    error: 'every key must be at least 16 characters long',
  }),
  HOST: z.string().trim().min(1, { error: 'must not be empty' }).default('127.0.0.1'),
  PORT: int(0, 65535).default(8000),
  VEGA_DATA_DIR: z.string().trim().min(1, { error: 'must not be empty' }).default('./data'),
  DATABASE_URL: optionalText().refine((url) => url === undefined || url.startsWith('sqlite:') || isPostgresUrl(url), {
    error: 'must be sqlite:<path> or postgres://user:password@host:port/database',
  }),
  DB_BUSY_TIMEOUT_SEC: num(0, 600).default(5),
  DB_WRITE_WAIT_SEC: num(0, 3600).default(30),
  // Shared state of several instances (limits, budgets, the answer cache, change notices); absent: all in-process.
  // One node, or with REDIS_CLUSTER seed nodes of a cluster, comma-separated (checked together in app-config.ts).
  REDIS_URL: commaList().pipe(z.array(z.url({ protocol: /^rediss?$/, error: 'must be a redis:// or rediss:// URL' }))),
  REDIS_CLUSTER: bool().default(false),
  REDIS_TIMEOUT_MS: int(1, 60_000).default(250),
  REDIS_PREFIX: z.string().trim().max(64, { error: 'must be at most 64 characters' }).default('vega:'),
  BUDGETS_WHEN_REDIS_DOWN: z.enum(['open', 'closed'], { error: "must be 'open' or 'closed'" }).default('open'),
  // Two at least: migrations run on one connection while another holds their lock.
  DB_POOL_SIZE: int(2, 1000).default(10),
  DB_STATEMENT_TIMEOUT_SEC: num(0, 3600).default(30),
  // Client side: a server that hangs never applies its own statement timeout.
  DB_QUERY_TIMEOUT_SEC: num(0, 3600).default(35),
  DB_CONNECT_TIMEOUT_SEC: num(0.1, 600).default(10),
  MIGRATIONS_RUN: bool().default(true),
  LLM_BACKEND: z.enum(['ollama', 'openai'], { error: "must be 'ollama' or 'openai'" }).default('ollama'),
  OLLAMA_URL: commaList()
    .pipe(z.array(httpUrl).min(1, { error: 'must list at least one URL' }))
    .default(['http://127.0.0.1:11434']),
  // Required when LLM_BACKEND=openai (checked in app-config); the API base, e.g. http://127.0.0.1:8080/v1.
  OPENAI_BASE_URL: commaList().pipe(z.array(httpUrl)),
  OPENAI_API_KEY: optionalText(),
  MODEL_NAME: z.string().trim().min(1, { error: 'must not be empty' }).default('mistral'),
  LLM_TIMEOUT_SEC: num(0.01, 3600).default(60),
  LLM_FIRST_TOKEN_TIMEOUT_SEC: num(0.01, 3600).default(30),
  LLM_IDLE_TIMEOUT_SEC: num(0.01, 3600).default(30),
  LLM_MAX_RETRIES: int(0, 10).default(2),
  LLM_RETRY_BACKOFF: num(0, 60).default(0.5),
  BACKEND_MAX_LINE_BYTES: int(1024, 1_073_741_824).default(1_048_576),
  BACKEND_MAX_CONNECTIONS: int(1, 65_536).default(1024),
  BACKENDS_FILE: optionalText(),
  ROUTING_STRATEGY: z
    .enum(['loaded-first', 'least-busy', 'weighted', 'priority'], { error: "must be 'loaded-first', 'least-busy', 'weighted' or 'priority'" })
    .default('loaded-first'),
  QUEUE_MAX_LENGTH: int(0, 1_000_000).default(1000),
  QUEUE_MAX_WAIT_SEC: num(0.1, 3600).default(30),
  MODELS_REFRESH_SEC: num(1, 86_400).default(60),
  LOADED_POLL_SEC: num(0.1, 3600).default(5),
  BREAKER_FAIL_THRESHOLD: int(1, 1000).default(5),
  BREAKER_RESET_SECONDS: num(0.01, 86400).default(30),
  CACHE_TTL_SECONDS: num(0, 86400).default(60),
  CACHE_MAX_ENTRIES: int(0, 1_000_000).default(1000),
  CONTEXT_OVERFLOW: z.enum(['refuse', 'raise_num_ctx'], { error: "must be 'refuse' or 'raise_num_ctx'" }).default('refuse'),
  CONTEXT_DEFAULT_NUM_CTX: int(256, 10_485_760).default(4096),
  CONTEXT_MAX_NUM_CTX: int(256, 10_485_760).default(32_768),
  MAX_PROMPT_CHARS: int(1, 1_000_000).default(4000),
  MAX_RESPONSE_CHARS: int(1, 10_000_000).default(4000),
  MEMORY_TURNS: int(0, 100).default(6),
  SSE_HEARTBEAT_SECONDS: num(0.05, 3600).default(15),
  SYSTEM_PROMPT_FILE: optionalText(),
  GEN_TEMPERATURE: num(0, 2).default(0.7),
  GEN_TOP_P: num(0, 1).default(0.9),
  GEN_TOP_K: int(1, 1000).default(40),
  GEN_REPEAT_PENALTY: num(0, 2).default(1.1),
  GEN_PRESENCE_PENALTY: num(-2, 2).default(0),
  GEN_FREQUENCY_PENALTY: num(-2, 2).default(0),
  GEN_DYNAMIC: bool().default(false),
  RATE_LIMIT_PER_MINUTE: int(0, 1_000_000).default(60),
  AUTH_FAILURE_LIMIT: int(0, 1_000_000).default(20),
  KEY_DEFAULT_TOKENS_PER_MINUTE: int(0, 1_000_000_000).default(0),
  KEY_DEFAULT_CONCURRENT_STREAMS: int(0, 10_000).default(0),
  KEY_DEFAULT_TOKENS_PER_DAY: int(0, 1_000_000_000_000).default(0),
  KEY_DEFAULT_TOKENS_PER_MONTH: int(0, 1_000_000_000_000).default(0),
  KEY_DEFAULT_MODEL_SECONDS_PER_DAY: int(0, 86_400_000).default(0),
  AUTH_FAILURE_WINDOW_SEC: int(1, 86_400).default(60),
  RATE_LIMIT_OVERRIDES: commaList().transform((items, ctx) => {
    const overrides: Record<string, number> = {};
    for (const item of items) {
      const at = item.lastIndexOf('=');
      const limit = Number(item.slice(at + 1));
      if (at <= 0 || !Number.isInteger(limit) || limit < 0) {
        ctx.addIssue({ code: 'custom', message: 'must be a comma list of <api key>=<requests per minute>' });
        return z.NEVER;
      }
      overrides[item.slice(0, at)] = limit;
    }
    return overrides;
  }),
  RETENTION_DAYS: int(0, 36500).default(0),
  SEARCH_RANK_MATCHES: int(1, 10_000_000).default(2000),
  PII_MASKING: bool().default(false),
  STORE_IMAGES: bool().default(false),
  HEALTH_PROBE_SECONDS: num(0.05, 3600).default(30),
  METRICS_TOKEN: optionalText().refine((token) => token === undefined || token.length >= 16, {
    error: 'must be at least 16 characters long',
  }),
  METRICS_MAX_KEYS: int(1, 1000).default(20),
  FETCH_ALLOW_PRIVATE: bool().default(false),
  FETCH_ALLOW_HOSTS: commaList().refine((hosts) => hosts.every(isHostAndPort), {
    error: 'must be a comma list of host names or IP addresses, each with an optional :port',
  }),
  FETCH_TIMEOUT_SEC: num(0.01, 600).default(10),
  FETCH_MAX_BYTES: int(1024, 100_000_000).default(2_000_000),
  IMAGE_MAX_BYTES: int(1024, 100_000_000).default(10 * 1024 * 1024),
  IMAGE_FETCH_TIMEOUT_SEC: num(0.01, 600).default(10),
  DNS_SERVERS: commaList().refine((servers) => servers.every(isDnsServer), {
    error: 'must be a comma list of IP addresses, each with an optional :port ([v6]:port)',
  }),
  SEARCH_PROVIDER: z.enum(['duckduckgo', 'searxng'], { error: "must be 'duckduckgo' or 'searxng'" }).default('duckduckgo'),
  SEARXNG_URL: optionalText().pipe(httpUrl.optional()),
  DUCKDUCKGO_HTML_URL: httpUrl.default('https://html.duckduckgo.com/html/'),
  DUCKDUCKGO_URL: httpUrl.default('https://duckduckgo.com'),
  EMBED_MODEL: optionalText(),
  USERNAME_SITES_FILE: optionalText(),
  RDAP_BOOTSTRAP_URL: httpUrl.default('https://data.iana.org/rdap/dns.json'),
  WHOIS_SERVER: z
    .string()
    .trim()
    .refine(isHostAndPort, { error: 'must be a host name or IP address with an optional :port' })
    .default('whois.iana.org'),
  NET_SCAN_ALLOW: commaList()
    .refine((entries) => entries.every(isScanTarget), {
      error: 'must be a comma list of host names, IP addresses or CIDR ranges (e.g. 10.0.0.0/24)',
    })
    .default(['127.0.0.1', '::1']),
  CORS_ORIGINS: commaList().pipe(z.array(origin)),
  SHUTDOWN_GRACE_SEC: num(0, 3600).default(10),
  MEMORY_TRIM_IDLE_SEC: num(0, 86400).default(30),
  // Whether the URL must be Slack's is checked in app-config (it depends on SLACK_ALLOW_ANY_URL).
  SLACK_WEBHOOK_URL: optionalText().pipe(httpUrl.optional()),
  SLACK_ALLOW_ANY_URL: bool().default(false),
  SLACK_NOTIFY: commaList().pipe(
    z.array(z.enum(['breaker', 'backend'], { error: 'must be a comma list of breaker, backend' })).transform((kinds) => [...new Set(kinds)]),
  ),
  SLACK_NOTIFY_INTERVAL_SEC: num(1, 86400).default(300),
  LOG_LEVEL: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'verbose'], {
      error: 'must be one of fatal, error, warn, info, debug, verbose',
    })
    .default('info'),
});

export type EnvInput = z.input<typeof envSchema>;
export type ParsedEnv = z.output<typeof envSchema>;
