import { cidrContains } from '../../src/core/outbound/ip-address';
import { stateOf } from '../../src/modules/osint/net-scan.service';

describe('cidrContains', () => {
  it.each([
    ['127.0.0.0/8', '127.9.9.9', true],
    ['127.0.0.1', '127.0.0.1', true],
    ['127.0.0.1', '127.0.0.2', false],
    ['10.0.0.0/30', '10.0.0.3', true],
    ['10.0.0.0/30', '10.0.0.4', false],
    ['0.0.0.0/0', '8.8.8.8', true],
    ['::1', '::1', true],
    ['fd00::/8', 'fd12::1', true],
    ['fd00::/8', 'fe80::1', false],
    ['127.0.0.1', '::ffff:127.0.0.1', false],
    ['::/0', '127.0.0.1', false],
  ])('%s contains %s: %s', (cidr, address, expected) => {
    expect(cidrContains(cidr, address)).toBe(expected);
  });
});

describe('port state from a connect error', () => {
  it.each([
    ['ECONNREFUSED', 'closed'],
    ['ECONNRESET', 'closed'],
    ['EHOSTUNREACH', 'filtered'],
    ['ENETUNREACH', 'filtered'],
    ['ETIMEDOUT', 'filtered'],
    [undefined, 'filtered'],
  ])('%s → %s', (code, state) => {
    expect(stateOf(code)).toBe(state);
  });
});
