import { ApiProperty } from '@nestjs/swagger';

export class SystemPromptReloadResponseDto {
  @ApiProperty({ description: 'The system prompt file (SYSTEM_PROMPT_FILE), or null when none is configured.', example: '/etc/vega/system_prompt.txt', nullable: true, type: String })
  file!: string | null;

  @ApiProperty({ description: 'Characters of the prompt now in use (0: no system prompt).', example: 412 })
  length!: number;

  @ApiProperty({ description: 'SHA-256 (hex) of the prompt now in use, or null when there is none.', example: '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08', nullable: true, type: String })
  sha256!: string | null;

  @ApiProperty({ description: 'Whether the reload changed the prompt in use.', example: true })
  changed!: boolean;
}
