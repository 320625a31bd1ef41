import { ApiProperty } from '@nestjs/swagger';
import { IsFQDN, IsIP, IsString, MaxLength } from 'class-validator';

export const HOSTNAME_RULES = { require_tld: false, allow_underscores: true, allow_trailing_dot: true } as const;

export class DnsRequestDto {
  @ApiProperty({ description: 'A host name (letters, digits, "-" and "_" labels).', example: 'example.com', maxLength: 253 })
  @IsString()
  @MaxLength(253)
  @IsFQDN(HOSTNAME_RULES, { message: 'hostname must be a valid host name' })
  hostname!: string;
}

export class MxRecordDto {
  @ApiProperty({ description: 'Mail exchanger.', example: 'mx1.example.com' })
  exchange!: string;

  @ApiProperty({ description: 'Preference (lower is tried first).', example: 10 })
  priority!: number;
}

export class DnsRecordsDto {
  @ApiProperty({ type: [String], example: ['93.184.215.14'], description: 'A records.' })
  A!: string[];

  @ApiProperty({ type: [String], example: ['2606:2800:21f:cb07:6820:80da:af6b:8b2c'], description: 'AAAA records.' })
  AAAA!: string[];

  @ApiProperty({ type: [MxRecordDto], description: 'MX records, by priority.' })
  MX!: MxRecordDto[];

  @ApiProperty({ type: [String], example: ['v=spf1 -all'], description: 'TXT records (the strings of each record joined).' })
  TXT!: string[];

  @ApiProperty({ type: [String], example: ['a.iana-servers.net'], description: 'NS records.' })
  NS!: string[];

  @ApiProperty({ type: [String], example: [], description: 'CNAME records.' })
  CNAME!: string[];
}

export class DnsResponseDto {
  @ApiProperty({ example: 'example.com', description: 'The name looked up.' })
  hostname!: string;

  @ApiProperty({
    type: [String],
    example: ['93.184.215.14'],
    description: 'Addresses the name resolves to (system resolver with /etc/hosts, or DNS_SERVERS).',
  })
  addresses!: string[];

  @ApiProperty({ type: DnsRecordsDto, description: 'Records by type; a type the name does not have is an empty list.' })
  records!: DnsRecordsDto;
}

export class ReverseDnsRequestDto {
  @ApiProperty({ description: 'An IPv4 or IPv6 address.', example: '8.8.8.8' })
  @IsString()
  @IsIP(undefined, { message: 'ip must be an IPv4 or IPv6 address' })
  ip!: string;
}

export class ReverseDnsResponseDto {
  @ApiProperty({ example: '8.8.8.8', description: 'The address looked up.' })
  ip!: string;

  @ApiProperty({ type: [String], example: ['dns.google'], description: 'PTR names (empty when there are none).' })
  names!: string[];
}
