import { Module } from '@nestjs/common';
import { Command, CommandRunner, Option, SubCommand } from 'nest-commander';
import { DnsRequestDto, ReverseDnsRequestDto } from '../../modules/osint/dto/dns.dto';
import { SslCertRequestDto } from '../../modules/osint/dto/ssl-cert.dto';
import { UrlRequestDto } from '../../modules/osint/dto/url-request.dto';
import { UsernameRequestDto } from '../../modules/osint/dto/username.dto';
import { WhoisRequestDto } from '../../modules/osint/dto/whois.dto';
import { OsintModule } from '../../modules/osint/osint.module';
import { OsintDnsService } from '../../modules/osint/osint-dns.service';
import { OsintTlsService } from '../../modules/osint/osint-tls.service';
import { OsintWebService } from '../../modules/osint/osint-web.service';
import { UsernameProbeService } from '../../modules/osint/username-probe.service';
import { WhoisService } from '../../modules/osint/whois.service';
import { commandMeta, optionMeta } from '../catalogue';
import { UsageError } from '../cli-errors';
import { Output } from '../output/output';
import { ProgressBar } from '../output/progress';
import { printCertificate, printDns, printHeaders, printUsernameHits, printWhois } from './osint-views';
import { interruptible, numberOption, requestInput } from './request-input';

type JsonOption = { json?: boolean };
const path = (name: string) => ['osint', name];

@SubCommand(commandMeta(...path('dns')))
export class OsintDnsCommand extends CommandRunner {
  private readonly out = new Output();

  constructor(private readonly dns: OsintDnsService) {
    super();
  }

  async run([host]: string[], options: JsonOption): Promise<void> {
    const { hostname } = requestInput(DnsRequestDto, { hostname: host }, { hostname: 'HOST' });
    const answer = await this.dns.lookup(hostname);
    if (options.json) this.out.json(answer);
    else printDns(this.out, answer);
  }

  @Option(optionMeta(path('dns'), '--json'))
  parseJson(): boolean {
    return true;
  }
}

@SubCommand(commandMeta(...path('reverse-dns')))
export class OsintReverseDnsCommand extends CommandRunner {
  private readonly out = new Output();

  constructor(private readonly dns: OsintDnsService) {
    super();
  }

  async run([address]: string[], options: JsonOption): Promise<void> {
    const { ip } = requestInput(ReverseDnsRequestDto, { ip: address }, { ip: 'IP' });
    const answer = await this.dns.reverse(ip);
    if (options.json) this.out.json(answer);
    else if (answer.names.length === 0) this.out.note(`${ip} has no PTR names.`);
    else for (const name of answer.names) this.out.line(name);
  }

  @Option(optionMeta(path('reverse-dns'), '--json'))
  parseJson(): boolean {
    return true;
  }
}

@SubCommand(commandMeta(...path('headers')))
export class OsintHeadersCommand extends CommandRunner {
  private readonly out = new Output();

  constructor(private readonly web: OsintWebService) {
    super();
  }

  async run([target]: string[], options: JsonOption): Promise<void> {
    const { url } = requestInput(UrlRequestDto, { url: target }, { url: 'URL' });
    const answer = await interruptible((signal) => this.web.httpHeaders(url, signal));
    if (options.json) this.out.json(answer);
    else printHeaders(this.out, answer);
  }

  @Option(optionMeta(path('headers'), '--json'))
  parseJson(): boolean {
    return true;
  }
}

@SubCommand(commandMeta(...path('ssl')))
export class OsintSslCommand extends CommandRunner {
  private readonly out = new Output();

  constructor(private readonly tls: OsintTlsService) {
    super();
  }

  async run([target]: string[], options: JsonOption & { port?: number }): Promise<void> {
    const { host, port } = requestInput(SslCertRequestDto, { host: target, port: options.port }, { host: 'HOST', port: '--port' });
    const cert = await interruptible((signal) => this.tls.certificate(host, port, signal));
    if (options.json) this.out.json(cert);
    else printCertificate(this.out, cert);
  }

  @Option(optionMeta(path('ssl'), '--port'))
  parsePort(value: string): number {
    return numberOption(value, '--port');
  }

  @Option(optionMeta(path('ssl'), '--json'))
  parseJson(): boolean {
    return true;
  }
}

@SubCommand(commandMeta(...path('robots')))
export class OsintRobotsCommand extends CommandRunner {
  private readonly out = new Output();

  constructor(private readonly web: OsintWebService) {
    super();
  }

  async run([target]: string[], options: JsonOption): Promise<void> {
    const { url } = requestInput(UrlRequestDto, { url: target }, { url: 'URL' });
    const answer = await interruptible((signal) => this.web.robots(url, signal));
    if (options.json) this.out.json(answer);
    else if (!answer.found) this.out.line(`no robots.txt at ${answer.url}`);
    else this.out.write(answer.robots.endsWith('\n') || answer.robots === '' ? answer.robots : `${answer.robots}\n`);
  }

  @Option(optionMeta(path('robots'), '--json'))
  parseJson(): boolean {
    return true;
  }
}

@SubCommand(commandMeta(...path('whois')))
export class OsintWhoisCommand extends CommandRunner {
  private readonly out = new Output();

  constructor(private readonly registry: WhoisService) {
    super();
  }

  async run([name]: string[], options: JsonOption): Promise<void> {
    const { domain } = requestInput(WhoisRequestDto, { domain: name }, { domain: 'DOMAIN' });
    const record = await interruptible((signal) => this.registry.lookup(domain, signal));
    if (options.json) this.out.json(record);
    else printWhois(this.out, record);
  }

  @Option(optionMeta(path('whois'), '--json'))
  parseJson(): boolean {
    return true;
  }
}

/** `vega osint username NAME`: every site probed concurrently, a progress bar on a terminal. */
@SubCommand(commandMeta(...path('username')))
export class OsintUsernameCommand extends CommandRunner {
  private readonly out = new Output();

  constructor(private readonly usernames: UsernameProbeService) {
    super();
  }

  async run([name]: string[], options: JsonOption & { nsfw?: boolean; sites?: string[] }): Promise<void> {
    const request = requestInput(
      UsernameRequestDto,
      { username: name, include_nsfw: options.nsfw, sites: options.sites },
      { username: 'NAME', include_nsfw: '--nsfw', sites: '--sites' },
    );
    let bar: ProgressBar | undefined;
    try {
      const items = await interruptible((signal) =>
        this.usernames.probe(request.username, {
          includeNsfw: request.include_nsfw,
          sites: request.sites,
          signal,
          onProgress: (done, total) => {
            bar ??= new ProgressBar(`probing ${total} sites`, total);
            bar.update(done, done === total);
          },
        }),
      );
      bar?.finish();
      if (options.json) this.out.json({ items });
      else printUsernameHits(this.out, items);
    } finally {
      bar?.finish();
    }
  }

  @Option(optionMeta(path('username'), '--nsfw'))
  parseNsfw(): boolean {
    return true;
  }

  @Option(optionMeta(path('username'), '--sites'))
  parseSites(value: string): string[] {
    return value
      .split(',')
      .map((site) => site.trim())
      .filter(Boolean);
  }

  @Option(optionMeta(path('username'), '--json'))
  parseJson(): boolean {
    return true;
  }
}

const SUBCOMMANDS = [OsintDnsCommand, OsintReverseDnsCommand, OsintHeadersCommand, OsintSslCommand, OsintRobotsCommand, OsintWhoisCommand, OsintUsernameCommand];

@Command({ ...commandMeta('osint'), subCommands: SUBCOMMANDS })
export class OsintCommand extends CommandRunner {
  async run(): Promise<void> {
    throw new UsageError('vega osint: give a command: dns, reverse-dns, headers, ssl, robots, whois, username');
  }
}

@Module({ imports: [OsintModule], providers: [OsintCommand, ...SUBCOMMANDS] })
export class OsintCommandsModule {}
