import { classifyAddress, parseIPv4, parseIPv6 } from '../../src/core/outbound/ip-address';

describe('classifyAddress', () => {
  it.each([
    ['0.0.0.0', 'an unspecified ("this network") address'],
    ['0.255.255.255', 'an unspecified ("this network") address'],
    ['10.0.0.1', 'a private address'],
    ['10.255.255.255', 'a private address'],
    ['100.64.0.1', 'a carrier-grade NAT (shared) address'],
    ['100.127.255.254', 'a carrier-grade NAT (shared) address'],
    ['127.0.0.1', 'a loopback address'],
    ['127.0.0.2', 'a loopback address'],
    ['127.255.255.255', 'a loopback address'],
    ['169.254.0.1', 'a link-local address'],
    ['169.254.169.254', 'the cloud metadata address'],
    ['172.16.0.1', 'a private address'],
    ['172.31.255.255', 'a private address'],
    ['192.0.0.8', 'an IETF protocol assignment address'],
    ['192.0.2.10', 'a documentation address'],
    ['192.88.99.1', 'a 6to4 relay anycast address'],
    ['192.168.1.1', 'a private address'],
    ['198.18.0.1', 'a benchmarking address'],
    ['198.19.255.255', 'a benchmarking address'],
    ['198.51.100.7', 'a documentation address'],
    ['203.0.113.9', 'a documentation address'],
    ['224.0.0.1', 'a multicast address'],
    ['239.255.255.250', 'a multicast address'],
    ['240.0.0.1', 'a reserved address'],
    ['255.255.255.255', 'the broadcast address'],
  ])('refuses the IPv4 address %s as %s', (address, reason) => {
    expect(classifyAddress(address)).toEqual({ allowed: false, reason });
  });

  it.each([
    ['::', 'an unspecified address'],
    ['::1', 'a loopback address'],
    ['0:0:0:0:0:0:0:1', 'a loopback address'],
    ['::ffff:127.0.0.1', 'an IPv4-mapped IPv6 address'],
    ['::ffff:7f00:1', 'an IPv4-mapped IPv6 address'],
    ['::ffff:a9fe:a9fe', 'an IPv4-mapped IPv6 address'],
    ['::ffff:8.8.8.8', 'an IPv4-mapped IPv6 address'],
    ['::127.0.0.1', 'an IPv4-compatible IPv6 address'],
    ['64:ff9b::7f00:1', 'a NAT64 address'],
    ['64:ff9b:1::a', 'a NAT64 address'],
    ['100::1', 'a discard-only address'],
    ['2001::1', 'a Teredo address'],
    ['2001:db8::1', 'a documentation address'],
    ['2002:7f00:1::', 'a 6to4 address'],
    ['fc00::1', 'a unique-local (private) address'],
    ['fd12:3456:789a::1', 'a unique-local (private) address'],
    ['fe80::1', 'a link-local address'],
    ['febf:ffff::1', 'a link-local address'],
    ['fec0::1', 'a site-local address'],
    ['ff02::1', 'a multicast address'],
    ['ff0e::101', 'a multicast address'],
  ])('refuses the IPv6 address %s as %s', (address, reason) => {
    expect(classifyAddress(address)).toEqual({ allowed: false, reason });
  });

  it.each([
    '1.1.1.1',
    '8.8.8.8',
    '9.255.255.255',
    '11.0.0.0',
    '100.63.255.255',
    '100.128.0.0',
    '126.255.255.255',
    '128.0.0.0',
    '169.253.255.255',
    '169.255.0.0',
    '172.15.255.255',
    '172.32.0.0',
    '192.167.255.255',
    '192.169.0.0',
    '198.17.255.255',
    '198.20.0.0',
    '223.255.255.255',
    '2606:4700:4700::1111',
    '2a00:1450:4001:80b::200e',
    '2001:4860:4860::8888',
    '2003::1',
    'fbff:ffff::1',
  ])('allows the public address %s', (address) => {
    expect(classifyAddress(address)).toEqual({ allowed: true });
  });

  it.each(['localhost', '', '127.1', '0x7f000001', '2130706433', '1.2.3.4.5', 'fe80::1%eth0', '::ffff:1.2.3', '1:2:3:4:5:6:7:8:9', ':::'])(
    'refuses %p, which is not a canonical IP address',
    (text) => {
      expect(classifyAddress(text)).toEqual({ allowed: false, reason: 'not an IP address' });
    },
  );
});

describe('IP address parsing', () => {
  it('reads dotted IPv4', () => {
    expect(parseIPv4('192.168.0.254')).toEqual([192, 168, 0, 254]);
    expect(parseIPv4('256.0.0.1')).toBeUndefined();
  });

  it('expands "::" and an IPv4 tail in IPv6', () => {
    expect(parseIPv6('::1')).toEqual([...Array(15).fill(0), 1]);
    expect(parseIPv6('::ffff:127.0.0.1')).toEqual([...Array(10).fill(0), 0xff, 0xff, 127, 0, 0, 1]);
    expect(parseIPv6('1:2:3:4:5:6:10.0.0.1')).toEqual([0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 10, 0, 0, 1]);
    expect(parseIPv6('fe80::')).toEqual([0xfe, 0x80, ...Array(14).fill(0)]);
    expect(parseIPv6('1::2::3')).toBeUndefined();
    expect(parseIPv6('1:2:3:4:5:6:7:8::')).toBeUndefined();
  });
});
