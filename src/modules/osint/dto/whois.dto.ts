import { ApiProperty } from '@nestjs/swagger';
import { IsFQDN, IsString, MaxLength } from 'class-validator';

export class WhoisRequestDto {
  @ApiProperty({ description: 'A registered domain name.', example: 'example.com', maxLength: 253 })
  @IsString()
  @MaxLength(253)
  @IsFQDN({ require_tld: true, allow_underscores: false, allow_trailing_dot: true }, { message: 'domain must be a valid domain name' })
  domain!: string;
}

export class WhoisResponseDto {
  @ApiProperty({ example: 'example.com' })
  domain!: string;

  @ApiProperty({ enum: ['rdap', 'whois'], description: 'Where the facts came from: RDAP, or WHOIS on port 43 when RDAP was unavailable.' })
  source!: 'rdap' | 'whois';

  @ApiProperty({ description: 'The registrar, when stated.', example: 'RESERVED-Internet Assigned Numbers Authority', type: String, nullable: true })
  registrar!: string | null;

  @ApiProperty({ description: 'Registration date (ISO 8601), when stated.', example: '1995-08-14T04:00:00Z', type: String, nullable: true })
  created!: string | null;

  @ApiProperty({ description: 'Last change (ISO 8601), when stated.', example: '2024-08-14T07:01:34Z', type: String, nullable: true })
  updated!: string | null;

  @ApiProperty({ description: 'Expiry date (ISO 8601), when stated.', example: '2025-08-13T04:00:00Z', type: String, nullable: true })
  expires!: string | null;

  @ApiProperty({ type: [String], example: ['client delete prohibited', 'client transfer prohibited'], description: 'Domain status codes.' })
  status!: string[];

  @ApiProperty({ type: [String], example: ['a.iana-servers.net', 'b.iana-servers.net'], description: 'Name servers, lower-case.' })
  nameservers!: string[];

  @ApiProperty({ description: 'The RDAP URL or WHOIS server that answered.', example: 'https://rdap.verisign.com/com/v1/domain/example.com' })
  server!: string;

  @ApiProperty({ description: 'Why RDAP was not used, when source is whois.', example: null, type: String, nullable: true })
  rdap_error!: string | null;
}
