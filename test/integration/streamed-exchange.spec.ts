import { createHash } from 'node:crypto';
import { createServer, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent } from 'undici';
import { StreamedExchange } from '../../src/core/llm/transport/streamed-exchange';

/** A loopback server whose handler each test sets. */
describe('StreamedExchange (undici dispatch, real loopback server)', () => {
  let server: Server;
  let origin: string;
  let agent: Agent;
  let handle: Parameters<typeof createServer>[1];

  beforeAll(async () => {
    server = createServer((req, res) => handle!(req, res));
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  beforeEach(() => {
    agent = new Agent();
  });
  afterEach(async () => {
    await agent.destroy();
  });
  afterAll(async () => {
    await new Promise((done) => server.close(done));
  });

  const open = (path = '/') => new StreamedExchange(agent, { origin, path, method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });

  it('delivers a large body whole and in order to a reader that starts late and reads slowly', async () => {
    const block = Buffer.alloc(16 * 1024);
    const sent = createHash('sha256');
    handle = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      let i = 0;
      const more = () => {
        while (i < 256) {
          block.fill(i % 251);
          sent.update(block);
          i += 1;
          if (!res.write(Buffer.from(block))) return void res.once('drain', more);
        }
        res.end();
      };
      more();
    };
    const exchange = open();
    await exchange.started;
    expect(exchange.statusCode).toBe(200);
    expect(exchange.headers['content-type']).toBe('application/x-ndjson');
    await new Promise((wait) => setTimeout(wait, 100)); // nothing read yet: the queue passes its high-water mark
    const received = createHash('sha256');
    let bytes = 0;
    for await (const chunk of exchange.body()) {
      received.update(chunk);
      bytes += chunk.length;
      await new Promise((next) => setImmediate(next));
    }
    expect(bytes).toBe(256 * 16 * 1024);
    expect(received.digest('hex')).toBe(sent.digest('hex'));
    expect(exchange.complete).toBe(true);
  });

  it('gives the status and body text of an error answer', async () => {
    handle = (_req, res) => {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end('{"error":"model \\"x\\" not found"}');
    };
    const exchange = open();
    await exchange.started;
    expect(exchange.statusCode).toBe(404);
    expect(await exchange.text()).toBe('{"error":"model \\"x\\" not found"}');
  });

  it('ends the body with the abort reason when aborted mid-stream, and closes the connection', async () => {
    let closed!: Promise<void>;
    handle = (req, res) => {
      closed = new Promise((done) => req.socket.once('close', () => done()));
      res.writeHead(200);
      res.write('first\n');
    };
    const exchange = open();
    await exchange.started;
    const reason = new Error('the client left');
    const chunks: string[] = [];
    await expect(
      (async () => {
        for await (const chunk of exchange.body()) {
          chunks.push(chunk.toString());
          exchange.abort(reason);
        }
      })(),
    ).rejects.toBe(reason);
    expect(chunks).toEqual(['first\n']);
    await closed;
  });

  it('honours an abort made before the request was handed to a connection', async () => {
    let reached = false;
    handle = (_req, res) => {
      reached = true;
      res.end();
    };
    const exchange = open();
    const reason = new Error('aborted at once');
    exchange.abort(reason);
    await expect(exchange.started).rejects.toBe(reason);
    await new Promise((wait) => setTimeout(wait, 50));
    expect(reached).toBe(false);
  });

  it('rejects `started` with the connect error when nothing listens', async () => {
    const idle = createServer();
    await new Promise<void>((done) => idle.listen(0, '127.0.0.1', done));
    const port = (idle.address() as AddressInfo).port;
    await new Promise((done) => idle.close(done));
    const exchange = new StreamedExchange(agent, { origin: `http://127.0.0.1:${port}`, path: '/', method: 'GET' });
    await expect(exchange.started).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });
});
