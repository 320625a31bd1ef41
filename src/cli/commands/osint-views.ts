import type { DnsResponseDto } from '../../modules/osint/dto/dns.dto';
import type { HttpHeadersResponseDto } from '../../modules/osint/dto/http-headers-response.dto';
import type { SslCertResponseDto } from '../../modules/osint/dto/ssl-cert.dto';
import type { WhoisResponseDto } from '../../modules/osint/dto/whois.dto';
import type { UsernameHit } from '../../modules/osint/username-probe.service';
import type { PortState } from '../../modules/osint/net-scan.service';
import type { Palette } from '../output/colour';
import { Output } from '../output/output';
import { Column, renderTable } from '../output/table';

/** `name  value` lines, the names dim and padded to one width. */
export function printFields(out: Output, fields: [string, string][]): void {
  const width = Math.max(...fields.map(([name]) => name.length));
  for (const [name, value] of fields) out.line(`${out.colour.dim(name.padEnd(width))}  ${value}`);
}

const table = <T>(out: Output, rows: T[], columns: Column<T>[]) => out.write(renderTable(rows, columns, { width: out.width, header: out.colour.dim }));

/** The addresses, then one row per record. */
export function printDns(out: Output, answer: DnsResponseDto): void {
  printFields(out, [
    ['hostname', answer.hostname],
    ['addresses', answer.addresses.join(', ') || '-'],
  ]);
  const { MX, ...plain } = answer.records;
  const rows: [string, string][] = [
    ...Object.entries(plain).flatMap(([type, values]) => (values as string[]).map((value): [string, string] => [type, value])),
    ...MX.map((mx): [string, string] => ['MX', `${mx.priority} ${mx.exchange}`]),
  ];
  out.line();
  if (rows.length === 0) return out.line('no records');
  table(out, rows, [
    { header: 'TYPE', value: ([type]) => type },
    { header: 'VALUE', value: ([, value]) => value, flex: true },
  ]);
}

/** The final status and URL, the redirects on the way, the headers, and the security summary. */
export function printHeaders(out: Output, answer: HttpHeadersResponseDto): void {
  const c = out.colour;
  printFields(out, [
    ['url', answer.url],
    ['status', String(answer.status)],
    ...answer.redirects.map((url, i): [string, string] => [i === 0 ? 'redirected' : '', url]),
  ]);
  out.line();
  table(out, Object.entries(answer.headers), [
    { header: 'HEADER', value: ([name]) => name },
    { header: 'VALUE', value: ([, value]) => value, flex: true },
  ]);
  out.line();
  const { missing, ...present } = answer.security;
  table(out, Object.entries(present), [
    { header: 'SECURITY HEADER', value: ([name]) => name.replaceAll('_', '-') },
    { header: 'PRESENT', value: ([, ok]) => yesNo(c, ok as boolean) },
  ]);
  if (missing.length > 0) out.note(`missing: ${missing.join(', ')}`);
}

/** The certificate's facts; `trusted` says why not when it is not. */
export function printCertificate(out: Output, cert: SslCertResponseDto): void {
  const c = out.colour;
  const days = cert.days_left < 0 ? c.red(`${cert.days_left} (expired)`) : cert.days_left < 30 ? c.yellow(String(cert.days_left)) : String(cert.days_left);
  printFields(out, [
    ['host', `${cert.host}:${cert.port}`],
    ['subject', names(cert.subject)],
    ['issuer', names(cert.issuer)],
    ['valid from', cert.not_before],
    ['valid until', cert.not_after],
    ['days left', days],
    ['san', cert.san.join(', ') || '-'],
    ['trusted', cert.authorized ? c.green('yes') : c.red(`no (${cert.authorization_error ?? 'unknown reason'})`)],
    ['protocol', cert.protocol ?? '-'],
    ['serial', cert.serial],
    ['sha-256', cert.fingerprint256],
  ]);
}

export function printWhois(out: Output, record: WhoisResponseDto): void {
  printFields(out, [
    ['domain', record.domain],
    ['registrar', record.registrar ?? '-'],
    ['created', record.created ?? '-'],
    ['updated', record.updated ?? '-'],
    ['expires', record.expires ?? '-'],
    ['status', record.status.join(', ') || '-'],
    ['name servers', record.nameservers.join(', ') || '-'],
    ['source', `${record.source} (${record.server})`],
    ...(record.rdap_error ? [['rdap error', record.rdap_error] as [string, string]] : []),
  ]);
}

/** One row per site: found yes/no/?, the status, the URL and how the verdict was reached. */
export function printUsernameHits(out: Output, hits: UsernameHit[]): void {
  const c = out.colour;
  table(out, hits, [
    { header: 'SITE', value: (hit) => hit.site },
    { header: 'FOUND', value: (hit) => (hit.exists === null ? c.yellow('?') : yesNo(c, hit.exists)) },
    { header: 'STATUS', value: (hit) => (hit.status === null ? '-' : String(hit.status)), align: 'right' },
    { header: 'URL', value: (hit) => hit.url },
    { header: 'NOTE', value: (hit) => hit.note, flex: true },
  ]);
  const found = hits.filter((hit) => hit.exists === true).length;
  const unsure = hits.filter((hit) => hit.exists === null).length;
  out.note(`${found} found, ${unsure} inconclusive, ${hits.length} sites probed`);
}

/** The scanned address, then one row per port. */
export function printScan(out: Output, scan: { host: string; address: string; results: { port: number; state: PortState }[] }): void {
  const c = out.colour;
  const paint: Record<PortState, (text: string) => string> = { open: c.green, closed: c.dim, filtered: c.yellow };
  printFields(out, [['host', scan.host === scan.address ? scan.host : `${scan.host} (${scan.address})`]]);
  out.line();
  table(out, scan.results, [
    { header: 'PORT', value: (result) => String(result.port), align: 'right' },
    { header: 'STATE', value: (result) => paint[result.state](result.state) },
  ]);
  const open = scan.results.filter((result) => result.state === 'open').length;
  out.note(`${open} open of ${scan.results.length} ports`);
}

const yesNo = (c: Palette, value: boolean) => (value ? c.green('yes') : c.red('no'));

/** `{ CN: 'a', O: 'b' }` → `CN=a, O=b`. */
const names = (fields: Record<string, string>) =>
  Object.entries(fields)
    .map(([key, value]) => `${key}=${value}`)
    .join(', ') || '-';
