import { ApiProperty } from '@nestjs/swagger';

export const SECURITY_HEADERS = {
  strict_transport_security: 'strict-transport-security',
  content_security_policy: 'content-security-policy',
  x_frame_options: 'x-frame-options',
  x_content_type_options: 'x-content-type-options',
  referrer_policy: 'referrer-policy',
  permissions_policy: 'permissions-policy',
} as const;

export class SecuritySummaryDto {
  @ApiProperty({ description: 'Strict-Transport-Security (HSTS) is sent.' })
  strict_transport_security!: boolean;

  @ApiProperty({ description: 'Content-Security-Policy is sent.' })
  content_security_policy!: boolean;

  @ApiProperty({ description: 'X-Frame-Options is sent.' })
  x_frame_options!: boolean;

  @ApiProperty({ description: 'X-Content-Type-Options is sent.' })
  x_content_type_options!: boolean;

  @ApiProperty({ description: 'Referrer-Policy is sent.' })
  referrer_policy!: boolean;

  @ApiProperty({ description: 'Permissions-Policy is sent.' })
  permissions_policy!: boolean;

  @ApiProperty({ description: 'The security headers that are missing (header names).', example: ['permissions-policy'], type: [String] })
  missing!: string[];
}

export class HttpHeadersResponseDto {
  @ApiProperty({ description: 'The final URL, after redirects.', example: 'https://example.com/' })
  url!: string;

  @ApiProperty({ description: 'HTTP status of the final answer.', example: 200 })
  status!: number;

  @ApiProperty({
    description: 'Response headers, names lower-cased; repeated headers joined with ", ".',
    example: { 'content-type': 'text/html; charset=utf-8', server: 'nginx' },
    type: 'object',
    additionalProperties: { type: 'string' },
  })
  headers!: Record<string, string>;

  @ApiProperty({ description: 'Which common security headers are present.', type: SecuritySummaryDto })
  security!: SecuritySummaryDto;

  @ApiProperty({ description: 'URLs that answered with a redirect on the way, in order.', type: [String], example: ['http://example.com/'] })
  redirects!: string[];
}
