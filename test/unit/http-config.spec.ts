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
