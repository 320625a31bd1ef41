import { Module } from '@nestjs/common';
import { setMaxListeners } from 'node:events';
import { Command, CommandRunner, Option, SubCommand } from 'nest-commander';
import { MAX_SCAN_PORTS, NetScanRequestDto } from '../../modules/osint/dto/net-scan.dto';
import { NetScanService } from '../../modules/osint/net-scan.service';
import { OsintModule } from '../../modules/osint/osint.module';
import { commandMeta, optionMeta } from '../catalogue';
import { UsageError } from '../cli-errors';
import { Output } from '../output/output';
import { printScan } from './osint-views';
import { interruptible, numberOption, requestInput } from './request-input';

const SCAN = ['net', 'scan'];

interface ScanOptions {
  ports?: number[];
  timeout?: number;
  concurrency?: number;
  json?: boolean;
}

/**
 * `22,80,8000-8010` → the ports, ranges expanded, in the order given. The syntax is checked
 * here; the values (1..65535, at most MAX_SCAN_PORTS) by the request DTO, as for the API.
 */
export function parsePortList(value: string): number[] {
  const ports: number[] = [];
  for (const item of value.split(',').map((part) => part.trim())) {
    const range = /^(\d+)(?:-(\d+))?$/.exec(item);
    if (!range) throw new UsageError(`--ports: "${item}" is not a port or a range like 8000-8010 (got "${value}")`);
    const first = Number(range[1]);
    const last = range[2] === undefined ? first : Number(range[2]);
    if (last < first) throw new UsageError(`--ports: the range ${item} ends before it starts`);
    // Checked before expanding, so 1-999999999 is refused without building the list.
    if (ports.length + (last - first + 1) > MAX_SCAN_PORTS) throw new UsageError(`--ports: at most ${MAX_SCAN_PORTS} ports at once (got "${value}")`);
    for (let port = first; port <= last; port += 1) ports.push(port);
  }
  return ports;
}

/** `vega net scan HOST --ports LIST`: the same scan as `POST /net/scan`, refused outside NET_SCAN_ALLOW. */
@SubCommand(commandMeta(...SCAN))
export class NetScanCommand extends CommandRunner {
  private readonly out = new Output();

  constructor(private readonly scanner: NetScanService) {
    super();
  }

  async run([target]: string[], options: ScanOptions): Promise<void> {
    if (!options.ports) throw new UsageError('--ports is required, e.g. --ports 22,80,443 or --ports 8000-8010');
    const request = requestInput(
      NetScanRequestDto,
      { host: target, ports: options.ports, timeout: options.timeout, concurrency: options.concurrency },
      { host: 'HOST', ports: '--ports', timeout: '--timeout', concurrency: '--concurrency' },
    );
    const scan = await interruptible((signal) => {
      // Every connection in flight listens to the signal.
      setMaxListeners(request.concurrency + 10, signal);
      return this.scanner.scan({ host: request.host, ports: request.ports, timeoutMs: Math.round(request.timeout * 1000), concurrency: request.concurrency, signal });
    });
    if (options.json) this.out.json(scan);
    else printScan(this.out, scan);
  }

  @Option(optionMeta(SCAN, '--ports'))
  parsePorts(value: string): number[] {
    return parsePortList(value);
  }

  @Option(optionMeta(SCAN, '--timeout'))
  parseTimeout(value: string): number {
    return numberOption(value, '--timeout');
  }

  @Option(optionMeta(SCAN, '--concurrency'))
  parseConcurrency(value: string): number {
    return numberOption(value, '--concurrency');
  }

  @Option(optionMeta(SCAN, '--json'))
  parseJson(): boolean {
    return true;
  }
}

@Command({ ...commandMeta('net'), subCommands: [NetScanCommand] })
export class NetCommand extends CommandRunner {
  async run(): Promise<void> {
    throw new UsageError('vega net: give a command: scan');
  }
}

@Module({ imports: [OsintModule], providers: [NetCommand, NetScanCommand] })
export class NetCommandsModule {}
