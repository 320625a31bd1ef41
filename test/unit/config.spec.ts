import { ConfigError, loadConfig } from '../../src/config/app-config';
import { databaseLabel } from '../../src/core/persistence/database-settings';
import { redactConfig } from '../../src/modules/admin/config-redaction';

describe('loadConfig', () => {
  it('applies the defaults of SPEC §2', () => {
    const config = loadConfig({});
    expect(config.http).toMatchObject({ host: '127.0.0.1', port: 8000 });
    expect(config.database).toMatchObject({ type: 'sqlite', path: expect.stringMatching(/data\/vega\.db$/) });
    expect(config.llm).toMatchObject({
      urls: ['http://127.0.0.1:11434'],
      model: 'mistral',
      timeoutMs: 60_000,
      firstTokenTimeoutMs: 30_000,
      idleTimeoutMs: 30_000,
      maxRetries: 2,
      retryBackoffMs: 500,
      maxLineBytes: 1_048_576,
      maxConnections: 1024,
      breaker: { failThreshold: 5, resetMs: 30_000 },
      cache: { ttlMs: 60_000, maxEntries: 1000 },
    });
    expect(config.chat).toEqual({ maxPromptChars: 4000, maxResponseChars: 4000, memoryTurns: 6, heartbeatMs: 15_000 });
    expect(config.generation).toEqual({
      temperature: 0.7,
      top_p: 0.9,
      top_k: 40,
      repeat_penalty: 1.1,
      presence_penalty: 0,
      frequency_penalty: 0,
      dynamic: false,
    });
    expect(config.rateLimit.perMinute).toBe(60);
    expect(config.rateLimit.authFailures).toEqual({ limit: 20, windowMs: 60_000 });
    expect(config.keyLimits).toEqual({ tokensPerMinute: 0, concurrentStreams: 0, tokensPerDay: 0, tokensPerMonth: 0, modelSecondsPerDay: 0 });
    expect(config.privacy.piiMasking).toBe(false);
    expect(config.privacy.storeImages).toBe(false);
  });

  it('parses lists, booleans and overrides', () => {
    const config = loadConfig({
      OLLAMA_URL: 'http://a:1/, http://b:2',
      API_KEYS_EXTRA: 'extra-key-aaaaaaaaaaaa,extra-key-bbbbbbbbbbbb',
      GEN_DYNAMIC: 'yes',
      PII_MASKING: '1',
      STORE_IMAGES: 'true',
      RATE_LIMIT_OVERRIDES: 'extra-key-aaaaaaaaaaaa=5',
      DATABASE_URL: 'sqlite:/tmp/x.db',
    });
    expect(config.llm.urls).toEqual(['http://a:1', 'http://b:2']);
    expect(config.auth.extraKeys).toHaveLength(2);
    expect(config.generation.dynamic).toBe(true);
    expect(config.privacy.piiMasking).toBe(true);
    expect(config.privacy.storeImages).toBe(true);
    expect(config.rateLimit.overrides).toEqual({ 'extra-key-aaaaaaaaaaaa': 5 });
    expect(config.database).toMatchObject({ type: 'sqlite', path: '/tmp/x.db' });
  });

  it('treats empty variables as unset', () => {
    expect(loadConfig({ PORT: '', API_KEY: '  ' }).http.port).toBe(8000);
  });

  it('reads the default limits and budgets of a key', () => {
    const config = loadConfig({
      KEY_DEFAULT_TOKENS_PER_MINUTE: '5000',
      KEY_DEFAULT_CONCURRENT_STREAMS: '2',
      KEY_DEFAULT_TOKENS_PER_DAY: '200000',
      KEY_DEFAULT_TOKENS_PER_MONTH: '3000000',
      KEY_DEFAULT_MODEL_SECONDS_PER_DAY: '3600',
    });
    expect(config.keyLimits).toEqual({ tokensPerMinute: 5000, concurrentStreams: 2, tokensPerDay: 200_000, tokensPerMonth: 3_000_000, modelSecondsPerDay: 3600 });
  });

  it('returns a frozen object', () => {
    const config = loadConfig({});
    expect(Object.isFrozen(config.llm.breaker)).toBe(true);
  });

  it.each([
    ['PORT', 'abc', /^Invalid configuration: PORT must be an integer between 0 and 65535 \(got "abc"\)$/],
    ['GEN_TEMPERATURE', '3', /GEN_TEMPERATURE must be a number between 0 and 2/],
    ['GEN_DYNAMIC', 'maybe', /GEN_DYNAMIC must be true or false/],
    ['STORE_IMAGES', 'pixels', /STORE_IMAGES must be true or false/],
    ['OLLAMA_URL', 'ftp://x', /OLLAMA_URL/],
    ['LLM_BACKEND', 'hf', /LLM_BACKEND must be 'ollama' or 'openai' \(got "hf"\)/],
    ['OPENAI_BASE_URL', 'ftp://x', /OPENAI_BASE_URL must be an http:\/\/ or https:\/\/ URL/],
    ['LOG_LEVEL', 'loud', /LOG_LEVEL must be one of/],
    ['DATABASE_URL', 'mysql://x', /DATABASE_URL must be sqlite:<path>/],
    ['RATE_LIMIT_OVERRIDES', 'nonsense', /RATE_LIMIT_OVERRIDES must be a comma list/],
    ['AUTH_FAILURE_LIMIT', '-1', /AUTH_FAILURE_LIMIT must be an integer between 0 and 1000000/],
    ['AUTH_FAILURE_WINDOW_SEC', '0', /AUTH_FAILURE_WINDOW_SEC must be an integer between 1 and 86400/],
    ['KEY_DEFAULT_TOKENS_PER_DAY', '-5', /KEY_DEFAULT_TOKENS_PER_DAY must be an integer between 0 and/],
    ['KEY_DEFAULT_CONCURRENT_STREAMS', '1.5', /KEY_DEFAULT_CONCURRENT_STREAMS must be an integer between 0 and 10000/],
  ])('names the variable when %s=%s is invalid', (name, value, message) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(message);
  });

  it('selects an OpenAI-compatible backend: its URLs, its bearer token, OLLAMA_URL kept for model registration', () => {
    const config = loadConfig({ LLM_BACKEND: 'openai', OPENAI_BASE_URL: 'http://a:8080/v1/, http://b:8000/v1', OPENAI_API_KEY: 'sk-local' });
    expect(config.llm).toMatchObject({
      backend: 'openai',
      urls: ['http://a:8080/v1', 'http://b:8000/v1'],
      ollamaUrls: ['http://127.0.0.1:11434'],
      apiKey: 'sk-local',
    });
    expect(loadConfig({}).llm).toMatchObject({ backend: 'ollama', urls: ['http://127.0.0.1:11434'], apiKey: undefined });
  });

  it('needs OPENAI_BASE_URL when LLM_BACKEND=openai, said in one line', () => {
    expect(() => loadConfig({ LLM_BACKEND: 'openai' })).toThrow(
      /^Invalid configuration: OPENAI_BASE_URL must be set when LLM_BACKEND is openai \(e\.g\. http:\/\/127\.0\.0\.1:8080\/v1\)$/,
    );
  });

  it('reads the backend line limit and pool size, and refuses a pool of 0 or a limit under 1 KiB', () => {
    expect(loadConfig({ BACKEND_MAX_LINE_BYTES: '65536', BACKEND_MAX_CONNECTIONS: '8' }).llm).toMatchObject({ maxLineBytes: 65536, maxConnections: 8 });
    expect(() => loadConfig({ BACKEND_MAX_CONNECTIONS: '0' })).toThrow(/^Invalid configuration: BACKEND_MAX_CONNECTIONS must be an integer between 1 and 65536/);
    expect(() => loadConfig({ BACKEND_MAX_LINE_BYTES: '100' })).toThrow(/^Invalid configuration: BACKEND_MAX_LINE_BYTES must be an integer between 1024 and/);
  });

  it('never echoes the value of a key variable', () => {
    expect(() => loadConfig({ API_KEY: 'short-secret' })).toThrow(/^Invalid configuration: API_KEY must be at least 16 characters long$/);
  });

  it('reports every invalid variable on one line', () => {
    expect(() => loadConfig({ PORT: '-1', MEMORY_TURNS: 'x' })).toThrow(/PORT .*; MEMORY_TURNS /);
  });

  describe('Redis', () => {
    it('keeps everything in the process without REDIS_URL, and reads the Redis settings with it', () => {
      expect(loadConfig({}).redis).toBeUndefined();
      expect(loadConfig({ REDIS_URL: 'redis://:pw@127.0.0.1:6379/0' }).redis).toEqual({
        urls: ['redis://:pw@127.0.0.1:6379/0'],
        cluster: false,
        timeoutMs: 250,
        prefix: 'vega:',
        budgetsWhenDown: 'open',
      });
      expect(loadConfig({ REDIS_URL: 'rediss://cache:6380', REDIS_TIMEOUT_MS: '100', REDIS_PREFIX: 'team:', BUDGETS_WHEN_REDIS_DOWN: 'closed' }).redis).toEqual({
        urls: ['rediss://cache:6380'],
        cluster: false,
        timeoutMs: 100,
        prefix: 'team:',
        budgetsWhenDown: 'closed',
      });
    });

    it('reads a Redis Cluster from its seed nodes with REDIS_CLUSTER, and refuses what a cluster cannot do', () => {
      expect(loadConfig({ REDIS_URL: 'redis://:pw@10.0.0.1:7000, redis://:pw@10.0.0.2:7000', REDIS_CLUSTER: 'true' }).redis).toMatchObject({
        urls: ['redis://:pw@10.0.0.1:7000', 'redis://:pw@10.0.0.2:7000'],
        cluster: true,
      });
      expect(loadConfig({ REDIS_URL: 'redis://10.0.0.1:7000/0', REDIS_CLUSTER: 'yes' }).redis?.cluster).toBe(true);
      expect(() => loadConfig({ REDIS_CLUSTER: 'true' })).toThrow(
        new ConfigError('Invalid configuration: REDIS_CLUSTER needs REDIS_URL (one or more seed nodes of the cluster, comma-separated)'),
      );
      expect(() => loadConfig({ REDIS_URL: 'redis://a:6379,redis://b:6379' })).toThrow(
        new ConfigError('Invalid configuration: REDIS_URL lists several nodes: set REDIS_CLUSTER=true for a Redis Cluster, or give one URL'),
      );
      expect(() => loadConfig({ REDIS_URL: 'redis://a:7000/2', REDIS_CLUSTER: 'true' })).toThrow(
        new ConfigError('Invalid configuration: REDIS_URL must not name a database with REDIS_CLUSTER (a cluster has database 0 only)'),
      );
      expect(() => loadConfig({ REDIS_URL: 'redis://a:7000', REDIS_CLUSTER: 'true', REDIS_PREFIX: '{vega}:' })).toThrow(
        new ConfigError('Invalid configuration: REDIS_PREFIX must not contain { or } with REDIS_CLUSTER (Vega puts the hash tags in its keys)'),
      );
      expect(() => loadConfig({ REDIS_URL: 'redis://a:7000', REDIS_CLUSTER: 'maybe' })).toThrow(/REDIS_CLUSTER must be true or false/);
      expect(() => loadConfig({ REDIS_URL: 'redis://a:7000,http://user:secret@b', REDIS_CLUSTER: 'true' })).toThrow(
        new ConfigError('Invalid configuration: REDIS_URL must be a redis:// or rediss:// URL'),
      );
    });

    it('refuses a URL that is not redis:// without echoing it (it may hold a password)', () => {
      expect(() => loadConfig({ REDIS_URL: 'http://user:secret@host' })).toThrow(new ConfigError('Invalid configuration: REDIS_URL must be a redis:// or rediss:// URL'));
      expect(() => loadConfig({ BUDGETS_WHEN_REDIS_DOWN: 'maybe' })).toThrow(/BUDGETS_WHEN_REDIS_DOWN must be 'open' or 'closed'/);
    });
  });

  describe('DATABASE_URL', () => {
    it('takes a PostgreSQL server, with its pool, timeouts and migrations settings', () => {
      for (const scheme of ['postgres', 'postgresql']) {
        const config = loadConfig({
          DATABASE_URL: `${scheme}://vega:pw@db.internal:5433/vega`,
          DB_POOL_SIZE: '4',
          DB_STATEMENT_TIMEOUT_SEC: '2.5',
          DB_QUERY_TIMEOUT_SEC: '3',
          DB_CONNECT_TIMEOUT_SEC: '0.5',
          MIGRATIONS_RUN: 'false',
        });
        expect(config.database).toMatchObject({
          type: 'postgres',
          url: `${scheme}://vega:pw@db.internal:5433/vega`,
          poolSize: 4,
          statementTimeoutMs: 2500,
          queryTimeoutMs: 3000,
          connectTimeoutMs: 500,
          migrationsRun: false,
          writeWaitMs: 30_000,
        });
      }
      expect(loadConfig({ DATABASE_URL: 'postgres://db/vega' }).database).toMatchObject({
        poolSize: 10,
        statementTimeoutMs: 30_000,
        queryTimeoutMs: 35_000,
        connectTimeoutMs: 10_000,
        migrationsRun: true,
      });
    });

    it('refuses other schemes and a pool of one (migrations need a second connection)', () => {
      expect(() => loadConfig({ DATABASE_URL: 'mysql://db/vega' })).toThrow(/DATABASE_URL must be sqlite:<path> or postgres:\/\//);
      expect(() => loadConfig({ DATABASE_URL: 'postgres://db/vega', DB_POOL_SIZE: '1' })).toThrow(/DB_POOL_SIZE/);
      expect(() => loadConfig({ DATABASE_URL: 'postgres://db/vega', DB_CONNECT_TIMEOUT_SEC: '0' })).toThrow(/DB_CONNECT_TIMEOUT_SEC/);
    });

    it('never shows the password: not in a config error, the status page or the database label', () => {
      expect(() => loadConfig({ DATABASE_URL: 'postgres://vega:s3cret@/vega' })).toThrow(ConfigError);
      expect(() => loadConfig({ DATABASE_URL: 'postgres://vega:s3cret@/vega' })).not.toThrow(/s3cret/);
      const config = loadConfig({ DATABASE_URL: 'postgres://vega:s3cret@db:5432/vega?sslmode=require' });
      expect(JSON.stringify(redactConfig(config))).not.toContain('s3cret');
      expect(databaseLabel(config.database)).toBe('postgres://vega:***@db:5432/vega?sslmode=require');
    });
  });
});
