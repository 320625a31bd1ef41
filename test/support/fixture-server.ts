import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FixtureReply {
  status?: number;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Wait this long before answering (a slow site). */
  delayMs?: number;
}

export type FixtureRoute = FixtureReply | ((url: URL, req: IncomingMessage) => FixtureReply);

export interface FixtureRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
}

/**
 * A local web server for e2e tests: pages, search results and redirects served from a route
 * table on 127.0.0.1. Unknown paths answer 404. Every request is recorded.
 */
export class FixtureServer {
  readonly requests: FixtureRequest[] = [];
  /** Requests being answered now, and the most there ever were at once. */
  inFlight = 0;
  maxInFlight = 0;
  private server: Server | undefined;
  private base = '';

  constructor(private readonly routes: Record<string, FixtureRoute> = {}) {}

  get origin(): string {
    if (!this.base) throw new Error('FixtureServer is not started');
    return this.base;
  }

  get port(): number {
    return Number(new URL(this.origin).port);
  }

  url(path: string): string {
    return `${this.origin}${path}`;
  }

  route(path: string, route: FixtureRoute): void {
    this.routes[path] = route;
  }

  async start(host = '127.0.0.1'): Promise<string> {
    const server = createServer((req, res) => this.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, host, resolve));
    this.server = server;
    this.base = `http://${host}:${(server.address() as AddressInfo).port}`;
    return this.base;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', this.base);
    this.requests.push({ method: req.method ?? 'GET', path: url.pathname, query: url.searchParams, headers: req.headers });
    const route = this.routes[url.pathname];
    this.inFlight += 1;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    res.on('close', () => {
      this.inFlight -= 1;
    });
    const reply: FixtureReply = route === undefined ? { status: 404, body: 'not found' } : typeof route === 'function' ? route(url, req) : route;
    const send = () => {
      if (res.destroyed) return;
      res.writeHead(reply.status ?? 200, { 'content-type': 'text/html; charset=utf-8', ...reply.headers });
      res.end(req.method === 'HEAD' ? undefined : reply.body);
    };
    if (reply.delayMs) {
      const timer = setTimeout(send, reply.delayMs);
      res.on('close', () => clearTimeout(timer));
    } else send();
  }
}
