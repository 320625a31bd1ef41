import { Body, Controller, HttpCode, Post, Res } from '@nestjs/common';
import { RequireScope } from '../../common/auth/scopes.decorator';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { ApiFetchErrors } from '../../common/errors/api-errors.decorator';
import { clientGoneSignal } from '../../common/http/client-gone';
import { ApiErrors } from '../../common/errors/api-errors.decorator';
import { DnsRequestDto, DnsResponseDto, ReverseDnsRequestDto, ReverseDnsResponseDto } from './dto/dns.dto';
import { HttpHeadersResponseDto } from './dto/http-headers-response.dto';
import { SslCertRequestDto, SslCertResponseDto } from './dto/ssl-cert.dto';
import { UsernameRequestDto, UsernameResponseDto } from './dto/username.dto';
import { WhoisRequestDto, WhoisResponseDto } from './dto/whois.dto';
import { WhoisService } from './whois.service';
import { UsernameProbeService } from './username-probe.service';
import { RobotsResponseDto } from './dto/robots-response.dto';
import { UrlRequestDto } from './dto/url-request.dto';
import { OsintDnsService } from './osint-dns.service';
import { OsintTlsService } from './osint-tls.service';
import { OsintWebService } from './osint-web.service';

@ApiTags('osint')
@RequireScope('research')
@Controller('osint')
export class OsintController {
  constructor(
    private readonly web: OsintWebService,
    private readonly dns: OsintDnsService,
    private readonly tls: OsintTlsService,
    private readonly usernames: UsernameProbeService,
    private readonly registry: WhoisService,
  ) {}

  @Post('whois')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Registration facts of a domain',
    description:
      "RDAP first: the IANA bootstrap file (RDAP_BOOTSTRAP_URL) names the registry's RDAP server. When RDAP is unavailable (no service for the TLD, an error, a timeout), WHOIS on port 43 at WHOIS_SERVER, following one referral; `rdap_error` then says why.",
  })
  @ApiOkResponse({ type: WhoisResponseDto })
  @ApiFetchErrors([404, 'The registry says the domain is not registered.'])
  whois(@Body() body: WhoisRequestDto, @Res({ passthrough: true }) reply: FastifyReply): Promise<WhoisResponseDto> {
    return this.registry.lookup(body.domain, clientGoneSignal(reply));
  }

  @Post('username')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Look for a username on many sites',
    description:
      'Probes the profile URL of every site in the site list (bundled, or USERNAME_SITES_FILE) concurrently, 16 at a time, at most 5 s each. Each site has an explicit rule (status code, or text present/absent on the page); a 404 means no profile; a redirect or an error is reported as inconclusive (exists: null), never as found.',
  })
  @ApiOkResponse({ type: UsernameResponseDto })
  @ApiErrors([400, 'Invalid input (the message names the field), or an unknown site name.'], 401, 429)
  async username(@Body() body: UsernameRequestDto, @Res({ passthrough: true }) reply: FastifyReply): Promise<UsernameResponseDto> {
    const items = await this.usernames.probe(body.username, { includeNsfw: body.include_nsfw, sites: body.sites, signal: clientGoneSignal(reply) });
    return { items };
  }

  @Post('dns')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Look up a host name',
    description: 'Addresses from the resolver (system or DNS_SERVERS), plus the A, AAAA, MX, TXT, NS and CNAME records.',
  })
  @ApiOkResponse({ type: DnsResponseDto })
  @ApiErrors(400, 401, [404, 'The name has no DNS records at all (NXDOMAIN).'], 429, [502, 'The DNS server failed.'], [504, 'The DNS server did not answer.'])
  lookup(@Body() body: DnsRequestDto): Promise<DnsResponseDto> {
    return this.dns.lookup(body.hostname);
  }

  @Post('reverse_dns')
  @HttpCode(200)
  @ApiOperation({ summary: 'Reverse look-up of an IP address', description: 'The PTR names of the address (empty when there are none).' })
  @ApiOkResponse({ type: ReverseDnsResponseDto })
  @ApiErrors(400, 401, 429, [502, 'The DNS server failed.'], [504, 'The DNS server did not answer.'])
  reverse(@Body() body: ReverseDnsRequestDto): Promise<ReverseDnsResponseDto> {
    return this.dns.reverse(body.ip);
  }

  @Post('ssl_cert')
  @HttpCode(200)
  @ApiOperation({
    summary: "Read a server's TLS certificate",
    description:
      'Completes a TLS handshake without trusting the certificate, so self-signed and expired ones are read too; `authorized` and `authorization_error` say whether it would be trusted. The SSRF guard applies to the host.',
  })
  @ApiOkResponse({ type: SslCertResponseDto })
  @ApiFetchErrors()
  sslCert(@Body() body: SslCertRequestDto, @Res({ passthrough: true }) reply: FastifyReply): Promise<SslCertResponseDto> {
    return this.tls.certificate(body.host, body.port, clientGoneSignal(reply));
  }

  @Post('http_headers')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Read the response headers of a URL',
    description: 'GETs the URL (following up to 5 redirects, each checked by the SSRF guard) and reports the final status and headers, with which common security headers are present.',
  })
  @ApiOkResponse({ type: HttpHeadersResponseDto })
  @ApiFetchErrors()
  async httpHeaders(@Body() body: UrlRequestDto, @Res({ passthrough: true }) reply: FastifyReply): Promise<HttpHeadersResponseDto> {
    return this.web.httpHeaders(body.url, clientGoneSignal(reply));
  }

  @Post('robots')
  @HttpCode(200)
  @ApiOperation({
    summary: "Read a site's robots.txt",
    description: 'Fetches /robots.txt at the origin of the given URL. A 404 or 410 answers `found: false`.',
  })
  @ApiOkResponse({ type: RobotsResponseDto })
  @ApiFetchErrors()
  async robots(@Body() body: UrlRequestDto, @Res({ passthrough: true }) reply: FastifyReply): Promise<RobotsResponseDto> {
    return this.web.robots(body.url, clientGoneSignal(reply));
  }
}
