import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ArrayMaxSize, ArrayMinSize, IsArray, IsBoolean, IsString, Matches, MaxLength } from 'class-validator';
import { IsOptionalNotNull } from '../../../common/validation/optional';

export class UsernameRequestDto {
  @ApiProperty({ description: 'The username to look for: letters, digits, ".", "_" and "-".', example: 'octocat', maxLength: 64 })
  @IsString()
  @MaxLength(64)
  @Matches(/^[A-Za-z0-9._-]+$/, { message: 'username may only contain letters, digits, ".", "_" and "-"' })
  username!: string;

  @ApiPropertyOptional({ description: 'Also probe adult sites.', default: false })
  @IsOptionalNotNull()
  @IsBoolean()
  include_nsfw: boolean = false;

  @ApiPropertyOptional({
    description: 'Only these sites (names from the site list, case-insensitive). Default: all.',
    type: [String],
    example: ['GitHub', 'Reddit'],
    maxItems: 200,
  })
  @IsOptionalNotNull()
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(200)
  @IsString({ each: true })
  @MaxLength(64, { each: true })
  sites?: string[];
}

export class UsernameHitDto {
  @ApiProperty({ example: 'GitHub' })
  site!: string;

  @ApiProperty({ example: 'https://github.com/octocat', description: 'The profile URL probed.' })
  url!: string;

  @ApiProperty({
    description: "true: the site's rule found the profile; false: it does not exist; null: inconclusive (see note).",
    example: true,
    type: Boolean,
    nullable: true,
  })
  exists!: boolean | null;

  @ApiProperty({ description: 'HTTP status, or null when no answer.', example: 200, type: Number, nullable: true })
  status!: number | null;

  @ApiProperty({ description: 'How the verdict was reached, or why it could not be.', example: 'HTTP 200' })
  note!: string;

  @ApiProperty({ description: 'An adult site.', example: false })
  nsfw!: boolean;
}

export class UsernameResponseDto {
  @ApiProperty({ type: [UsernameHitDto], description: 'One entry per probed site, in site-list order.' })
  items!: UsernameHitDto[];
}
