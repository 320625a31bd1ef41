import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsInt, IsString, Max, MaxLength, Min, MinLength } from 'class-validator';
import { IsOptionalNotNull } from '../../../common/validation/optional';
import { IsHostOrAddress } from './host-or-address.validator';

export class SslCertRequestDto {
  @ApiProperty({ description: 'Host name or IP address. Private targets are refused unless FETCH_ALLOW_PRIVATE=true.', example: 'example.com', maxLength: 253 })
  @IsString()
  @MinLength(1, { message: 'host must not be empty' })
  @MaxLength(253)
  @IsHostOrAddress()
  host!: string;

  @ApiPropertyOptional({ description: 'TLS port.', minimum: 1, maximum: 65535, default: 443 })
  @IsOptionalNotNull()
  @IsInt()
  @Min(1)
  @Max(65535)
  port: number = 443;
}

export class SslCertResponseDto {
  @ApiProperty({ example: 'example.com' })
  host!: string;

  @ApiProperty({ example: 443 })
  port!: number;

  @ApiProperty({ description: 'Subject fields.', example: { CN: 'example.com', O: 'Example Inc' }, type: 'object', additionalProperties: { type: 'string' } })
  subject!: Record<string, string>;

  @ApiProperty({ description: 'Issuer fields.', example: { CN: 'DigiCert Global G2 TLS RSA SHA256 2020 CA1', O: 'DigiCert Inc' }, type: 'object', additionalProperties: { type: 'string' } })
  issuer!: Record<string, string>;

  @ApiProperty({ description: 'Start of validity (ISO 8601).', example: '2025-01-15T00:00:00.000Z' })
  not_before!: string;

  @ApiProperty({ description: 'End of validity (ISO 8601).', example: '2026-01-15T23:59:59.000Z' })
  not_after!: string;

  @ApiProperty({ description: 'Whole days until not_after; negative once expired.', example: 52 })
  days_left!: number;

  @ApiProperty({ description: 'Subject alternative names (DNS names and IP addresses).', type: [String], example: ['example.com', 'www.example.com'] })
  san!: string[];

  @ApiProperty({ description: 'SHA-256 fingerprint, colon-separated hex.', example: 'EF:BA:26:D8:C1:CE:37:79:AC:77:63:0A:90:F8:21:63:A3:D6:89:2E:D6:AF:EE:40:86:72:CF:19:EB:A7:A3:62' })
  fingerprint256!: string;

  @ApiProperty({ description: 'Serial number (hex).', example: '0AD893BAFA68B0B7FB7A404F06ECAF9A' })
  serial!: string;

  @ApiProperty({ description: 'true when the chain is trusted and the certificate matches the host.', example: true })
  authorized!: boolean;

  @ApiProperty({
    description: 'Why it is not trusted (e.g. DEPTH_ZERO_SELF_SIGNED_CERT, CERT_HAS_EXPIRED, a host mismatch), or null.',
    example: null,
    type: String,
    nullable: true,
  })
  authorization_error!: string | null;

  @ApiProperty({ description: 'Negotiated TLS version.', example: 'TLSv1.3', type: String, nullable: true })
  protocol!: string | null;
}
