import { loadConfig } from '../../src/config/app-config';

describe('observability configuration', () => {
  it('probes the backend every 30 s and leaves /metrics open by default', () => {
    const config = loadConfig({});
    expect(config.health).toEqual({ probeIntervalMs: 30_000 });
    expect(config.metrics).toEqual({ token: undefined, maxKeys: 20 });
  });

  it('reads HEALTH_PROBE_SECONDS and METRICS_TOKEN', () => {
    const config = loadConfig({ HEALTH_PROBE_SECONDS: '0.25', METRICS_TOKEN: 'scrape-token-0123456789' });
    expect(config.health.probeIntervalMs).toBe(250);
    expect(config.metrics.token).toBe('scrape-token-0123456789');
  });

  it('refuses a probe interval out of range', () => {
    expect(() => loadConfig({ HEALTH_PROBE_SECONDS: '0' })).toThrow(
      /^Invalid configuration: HEALTH_PROBE_SECONDS must be a number between 0.05 and 3600 \(got "0"\)$/,
    );
  });

  it('refuses a short METRICS_TOKEN without printing it', () => {
    expect(() => loadConfig({ METRICS_TOKEN: 'short-token' })).toThrow(
      /^Invalid configuration: METRICS_TOKEN must be at least 16 characters long$/,
    );
  });
});
