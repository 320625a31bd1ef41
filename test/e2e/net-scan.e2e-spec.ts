import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { TestApp, useAppWithFakeOllama } from '../support/test-app';

/** A TCP server that counts the connections it receives. */
function counting(): { server: Server; connections: () => number; sockets: Set<Socket> } {
  let count = 0;
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    count += 1;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.end();
  });
  return { server, connections: () => count, sockets };
}

async function listen(server: Server, host: string): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  return (server.address() as AddressInfo).port;
}

describe('POST /net/scan', () => {
  const env = useAppWithFakeOllama();
  const open1 = counting();
  const open2 = counting();
  const other = counting();
  let openPorts: number[] = [];
  let closedPort = 0;
  let otherPort = 0;
  let t: TestApp;

  beforeAll(async () => {
    openPorts = [await listen(open1.server, '127.0.0.1'), await listen(open2.server, '127.0.0.1')];
    // A port that was just free: nothing listens there now.
    const probe = createServer();
    closedPort = await listen(probe, '127.0.0.1');
    await new Promise((resolve) => probe.close(resolve));
    otherPort = await listen(other.server, '127.0.0.2');
  });
  afterAll(async () => {
    for (const s of [open1, open2, other]) {
      for (const socket of s.sockets) socket.destroy();
      await new Promise((resolve) => s.server.close(resolve));
    }
  });

  const start = (vars: Record<string, string> = {}) => env.start({ RATE_LIMIT_PER_MINUTE: '0', ...vars });

  it('reports open and closed ports of an allowed host, each port once, in the order given', async () => {
    t = await start();
    const ports = [openPorts[0], closedPort, openPorts[1], openPorts[0]];
    const res = await t.request('/net/scan', { body: { host: '127.0.0.1', ports, timeout: 1 } });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      host: '127.0.0.1',
      address: '127.0.0.1',
      results: [
        { port: openPorts[0], state: 'open' },
        { port: closedPort, state: 'closed' },
        { port: openPorts[1], state: 'open' },
      ],
    });
  });

  it('allows a CIDR range and a host name whose every address is covered', async () => {
    t = await start({ NET_SCAN_ALLOW: '127.0.0.0/30,::1' });
    const res = await t.request('/net/scan', { body: { host: '127.0.0.2', ports: [otherPort] } });
    expect(await res.json()).toMatchObject({ address: '127.0.0.2', results: [{ port: otherPort, state: 'open' }] });
    const byName = await t.request('/net/scan', { body: { host: 'localhost', ports: [openPorts[0]] } });
    expect(byName.status).toBe(200);
  });

  it('refuses a host outside NET_SCAN_ALLOW with a 403 that names the setting, before any connection', async () => {
    t = await start({ NET_SCAN_ALLOW: '127.0.0.1' });
    const before = other.connections();
    const res = await t.request('/net/scan', { body: { host: '127.0.0.2', ports: [otherPort] } });
    expect(res.status).toBe(403);
    expect(await res.json()).toEqual({
      statusCode: 403,
      error: 'Forbidden',
      message: '127.0.0.2 is not in NET_SCAN_ALLOW (127.0.0.1); only those hosts may be scanned',
    });
    expect(other.connections()).toBe(before);
  });

  it('refuses a name when one of its addresses is outside the list', async () => {
    t = await start({ NET_SCAN_ALLOW: '127.0.0.1' });
    const res = await t.request('/net/scan', { body: { host: 'localhost', ports: [openPorts[0]] } });
    // localhost also resolves to ::1 here when /etc/hosts says so; either way the answer is exact.
    if (res.status === 403) {
      expect((await res.json()).message).toMatch(/^localhost \(.*::1.*\) is not in NET_SCAN_ALLOW \(127\.0\.0\.1\)/);
    } else {
      expect(res.status).toBe(200);
      expect((await res.json()).address).toBe('127.0.0.1');
    }
  });

  it.each([
    ['a missing host', { ports: [80] }, 'host is required'],
    ['missing ports', { host: '127.0.0.1' }, 'ports is required'],
    ['an empty port list', { host: '127.0.0.1', ports: [] }, 'ports must contain at least 1 elements'],
    ['more than 1024 ports', { host: '127.0.0.1', ports: Array.from({ length: 1025 }, (_, i) => i + 1) }, 'ports must contain no more than 1024 elements'],
    ['port 0', { host: '127.0.0.1', ports: [0] }, 'each value in ports must be at least 1'],
    ['port 65536', { host: '127.0.0.1', ports: [65536] }, 'each value in ports must be at most 65535'],
    ['a port that is not an integer', { host: '127.0.0.1', ports: ['80'] }, 'each value in ports must be an integer'],
    ['a timeout of 0', { host: '127.0.0.1', ports: [80], timeout: 0 }, 'timeout must not be less than 0.01'],
    ['a timeout of 60 s', { host: '127.0.0.1', ports: [80], timeout: 60 }, 'timeout must not be greater than 10'],
    ['concurrency 0', { host: '127.0.0.1', ports: [80], concurrency: 0 }, 'concurrency must not be less than 1'],
    ['concurrency 5000', { host: '127.0.0.1', ports: [80], concurrency: 5000 }, 'concurrency must not be greater than 1000'],
  ])('answers 400 for %s', async (_case, body, message) => {
    t = await start();
    const res = await t.request('/net/scan', { body });
    expect(res.status).toBe(400);
    expect((await res.json()).message).toContain(message);
  });
});
