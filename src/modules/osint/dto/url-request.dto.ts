import { ApiProperty } from '@nestjs/swagger';
import { IsString, MaxLength, MinLength } from 'class-validator';

/** `POST /osint/http_headers` and `POST /osint/robots`. */
export class UrlRequestDto {
  @ApiProperty({
    description:
      'An http:// or https:// URL. Private, loopback and link-local targets are refused (400) unless FETCH_ALLOW_PRIVATE=true; redirects (at most 5) are checked the same way.',
    example: 'https://example.com/',
    maxLength: 2048,
  })
  @IsString()
  @MinLength(1, { message: 'url must not be empty' })
  @MaxLength(2048)
  url!: string;
}
