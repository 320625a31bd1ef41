import { createSocket, type Socket } from 'node:dgram';
import type { AddressInfo } from 'node:net';
import * as packet from 'dns-packet';

/** The records of one name; an absent type answers NOERROR with no records, an absent name NXDOMAIN. */
export interface FakeZoneEntry {
  A?: string[];
  AAAA?: string[];
  CNAME?: string;
  MX?: { preference: number; exchange: string }[];
  NS?: string[];
  TXT?: string[];
  PTR?: string[];
}

const NXDOMAIN = 3;

/**
 * A tiny authoritative DNS server over UDP on 127.0.0.1, built on dns-packet, so look-ups run
 * through Node's real resolver (`DNS_SERVERS`) without touching the network: names can be
 * mapped to loopback addresses for the SSRF tests, and OSINT records served as a zone.
 */
export class FakeDns {
  private socket: Socket | undefined;
  readonly queries: { name: string; type: string }[] = [];

  constructor(private readonly zone: Record<string, FakeZoneEntry>) {}

  /** `127.0.0.1:<port>`, for `DNS_SERVERS`. */
  server = '';

  async start(): Promise<string> {
    const socket = createSocket('udp4');
    socket.on('message', (message, remote) => {
      const reply = this.answer(message);
      if (reply) socket.send(reply, remote.port, remote.address);
    });
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    this.socket = socket;
    this.server = `127.0.0.1:${(socket.address() as AddressInfo).port}`;
    return this.server;
  }

  async stop(): Promise<void> {
    const socket = this.socket;
    this.socket = undefined;
    if (socket) await new Promise<void>((resolve) => socket.close(() => resolve()));
  }

  private answer(message: Buffer): Buffer | undefined {
    let query: packet.DecodedPacket;
    try {
      query = packet.decode(message);
    } catch {
      return undefined;
    }
    const question = query.questions?.[0];
    if (!question) return undefined;
    const name = question.name.toLowerCase();
    this.queries.push({ name, type: question.type });
    const entry = this.zone[name];
    const answers: packet.Answer[] = [];
    if (entry) {
      const add = (type: string, data: unknown) =>
        answers.push({ name: question.name, type, class: 'IN', ttl: 60, data } as packet.Answer);
      if (entry.CNAME && question.type !== 'CNAME') add('CNAME', entry.CNAME);
      switch (question.type) {
        case 'A':
        case 'AAAA':
        case 'NS':
        case 'PTR':
          for (const value of entry[question.type] ?? []) add(question.type, value);
          break;
        case 'CNAME':
          if (entry.CNAME) add('CNAME', entry.CNAME);
          break;
        case 'MX':
          for (const value of entry.MX ?? []) add('MX', value);
          break;
        case 'TXT':
          for (const value of entry.TXT ?? []) add('TXT', [value]);
          break;
      }
    }
    return packet.encode({
      type: 'response',
      id: query.id,
      flags: packet.AUTHORITATIVE_ANSWER | packet.RECURSION_DESIRED | (entry ? 0 : NXDOMAIN),
      questions: [question],
      answers,
    });
  }
}
