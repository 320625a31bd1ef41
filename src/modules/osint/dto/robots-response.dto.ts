import { ApiProperty } from '@nestjs/swagger';

export class RobotsResponseDto {
  @ApiProperty({ description: 'The robots.txt URL that was read (the origin of the given URL + /robots.txt).', example: 'https://example.com/robots.txt' })
  url!: string;

  @ApiProperty({ description: 'false when the site answered 404 or 410 (no robots.txt).', example: true })
  found!: boolean;

  @ApiProperty({ description: 'The robots.txt text ("" when not found), at most FETCH_MAX_BYTES.', example: 'User-agent: *\nDisallow: /private/\n' })
  robots!: string;
}
