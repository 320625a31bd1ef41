import { createConnection, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy on loopback in front of a server (PostgreSQL), able to lose an answer: once armed
 * (`cutNextReply`), the first bytes the server sends on any connection are dropped and that
 * connection is cut both ways, as a network failure between the server's commit and its reply
 * would. The server has done the work; the client only learns that the connection was lost.
 */
export class CuttingProxy {
  private server?: Server;
  private readonly sockets = new Set<Socket>();
  private armed?: () => void;
  port = 0;

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  async start(): Promise<void> {
    this.server = createServer((client) => this.pipe(client));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as { port: number }).port;
  }

  /** Resolves once a reply was dropped and its connection cut. */
  cutNextReply(): Promise<void> {
    return new Promise((resolve) => (this.armed = resolve));
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise((resolve) => this.server?.close(resolve));
  }

  private pipe(client: Socket): void {
    const upstream = createConnection({ host: this.targetHost, port: this.targetPort });
    for (const socket of [client, upstream]) {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      socket.on('error', () => undefined);
    }
    client.on('data', (chunk) => upstream.write(chunk));
    upstream.on('data', (chunk) => {
      const cut = this.armed;
      if (!cut) {
        client.write(chunk);
        return;
      }
      this.armed = undefined;
      client.destroy();
      upstream.destroy();
      cut();
    });
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  }
}
