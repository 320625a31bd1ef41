import { ConfigError, loadConfig } from '../../src/config/app-config';

describe('loadConfig: CORS_ORIGINS', () => {
  it('turns CORS off by default', () => {
    expect(loadConfig({}).http.corsOrigins).toEqual([]);
  });

  it('parses a comma list of origins, lower-cased, without a trailing slash', () => {
    const config = loadConfig({ CORS_ORIGINS: 'https://App.Example.com/, http://localhost:3000' });
    expect(config.http.corsOrigins).toEqual(['https://app.example.com', 'http://localhost:3000']);
  });

  it.each(['*', 'app.example.com', 'https://app.example.com/path', 'ftp://files.example.com'])('refuses %s', (value) => {
    expect(() => loadConfig({ CORS_ORIGINS: value })).toThrow(ConfigError);
    expect(() => loadConfig({ CORS_ORIGINS: value })).toThrow(/CORS_ORIGINS must list origins like https:\/\/app\.example\.com/);
  });
});

describe('loadConfig: SHUTDOWN_GRACE_SEC', () => {
  it('defaults to 10 s', () => {
    expect(loadConfig({}).http.shutdownGraceMs).toBe(10_000);
  });

  it('accepts fractions and 0', () => {
    expect(loadConfig({ SHUTDOWN_GRACE_SEC: '0.5' }).http.shutdownGraceMs).toBe(500);
    expect(loadConfig({ SHUTDOWN_GRACE_SEC: '0' }).http.shutdownGraceMs).toBe(0);
  });

  it.each(['-1', 'soon', '3601'])('refuses %s', (value) => {
    expect(() => loadConfig({ SHUTDOWN_GRACE_SEC: value })).toThrow(/SHUTDOWN_GRACE_SEC must be a number between 0 and 3600/);
  });
});
