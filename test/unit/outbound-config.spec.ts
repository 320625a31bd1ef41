import { loadConfig } from '../../src/config/app-config';

describe('loadConfig: outbound fetcher, search and research', () => {
  it('applies the defaults', () => {
    const config = loadConfig({});
    expect(config.outbound).toEqual({ allowPrivate: false, allowHosts: [], timeoutMs: 10_000, maxBytes: 2_000_000, dnsServers: [] });
    expect(config.search).toEqual({
      provider: 'duckduckgo',
      searxngUrl: undefined,
      duckduckgoHtmlUrl: 'https://html.duckduckgo.com/html/',
      duckduckgoUrl: 'https://duckduckgo.com',
    });
    expect(config.research).toEqual({ embedModel: undefined });
    expect(config.net.scanAllow).toEqual(['127.0.0.1', '::1']);
    expect(config.osint).toEqual({ usernameSitesFile: undefined, rdapBootstrapUrl: 'https://data.iana.org/rdap/dns.json', whoisServer: 'whois.iana.org' });
  });

  it('reads NET_SCAN_ALLOW hosts, addresses and CIDR ranges', () => {
    expect(loadConfig({ NET_SCAN_ALLOW: 'lab.local, 10.0.0.0/24, fd00::/8, 192.168.1.7' }).net.scanAllow).toEqual([
      'lab.local',
      '10.0.0.0/24',
      'fd00::/8',
      '192.168.1.7',
    ]);
  });

  it('normalises allowed hosts as URL hosts (default ports dropped, IPv6 in brackets)', () => {
    const config = loadConfig({ FETCH_ALLOW_HOSTS: 'Searx.LAN:8080, 10.0.0.5, [::1]:9000, 0x7f000001:81, intranet:80' });
    expect(config.outbound.allowHosts).toEqual(['searx.lan:8080', '10.0.0.5', '[::1]:9000', '127.0.0.1:81', 'intranet']);
  });

  it('reads DNS servers, the search provider and the embedding model', () => {
    const config = loadConfig({
      DNS_SERVERS: '127.0.0.1:5353, ::1, [::1]:53',
      SEARCH_PROVIDER: 'searxng',
      SEARXNG_URL: 'http://127.0.0.1:8888/',
      EMBED_MODEL: 'nomic-embed-text',
      FETCH_ALLOW_PRIVATE: 'true',
    });
    expect(config.outbound.dnsServers).toEqual(['127.0.0.1:5353', '::1', '[::1]:53']);
    expect(config.outbound.allowPrivate).toBe(true);
    expect(config.search).toMatchObject({ provider: 'searxng', searxngUrl: 'http://127.0.0.1:8888' });
    expect(config.research.embedModel).toBe('nomic-embed-text');
  });

  it.each([
    ['FETCH_ALLOW_HOSTS', { FETCH_ALLOW_HOSTS: 'http://a.test/' }, 'FETCH_ALLOW_HOSTS must be a comma list of host names or IP addresses'],
    ['DNS_SERVERS', { DNS_SERVERS: 'dns.google' }, 'DNS_SERVERS must be a comma list of IP addresses'],
    ['DNS_SERVERS', { DNS_SERVERS: '1.1.1.1:99999' }, 'DNS_SERVERS must be a comma list of IP addresses'],
    ['FETCH_MAX_BYTES', { FETCH_MAX_BYTES: '10' }, 'FETCH_MAX_BYTES must be an integer between 1024 and 100000000'],
    ['NET_SCAN_ALLOW', { NET_SCAN_ALLOW: '10.0.0.0/33' }, 'NET_SCAN_ALLOW must be a comma list of host names, IP addresses or CIDR ranges'],
    ['NET_SCAN_ALLOW', { NET_SCAN_ALLOW: 'http://lab/' }, 'NET_SCAN_ALLOW must be a comma list of host names, IP addresses or CIDR ranges'],
    ['WHOIS_SERVER', { WHOIS_SERVER: 'whois://x' }, 'WHOIS_SERVER must be a host name or IP address with an optional :port'],
    ['RDAP_BOOTSTRAP_URL', { RDAP_BOOTSTRAP_URL: 'file:///etc/passwd' }, 'RDAP_BOOTSTRAP_URL must be an http:// or https:// URL'],
    ['SEARCH_PROVIDER', { SEARCH_PROVIDER: 'google' }, "SEARCH_PROVIDER must be 'duckduckgo' or 'searxng'"],
    ['SEARXNG_URL', { SEARXNG_URL: 'ftp://x' }, 'SEARXNG_URL must be an http:// or https:// URL'],
    ['SEARXNG_URL', { SEARCH_PROVIDER: 'searxng' }, 'SEARXNG_URL must be set when SEARCH_PROVIDER is searxng'],
  ])('refuses a bad %s', (_name, env, message) => {
    expect(() => loadConfig(env)).toThrow(message);
  });
});
