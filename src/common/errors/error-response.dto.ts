import { ApiProperty } from '@nestjs/swagger';

/** The body of every error answer. */
export class ErrorResponseDto {
  @ApiProperty({ description: 'HTTP status code.', example: 400 })
  statusCode!: number;

  @ApiProperty({ description: 'HTTP reason phrase.', example: 'Bad Request' })
  error!: string;

  @ApiProperty({ description: 'What went wrong, naming the field for invalid input.', example: 'prompt must not be empty' })
  message!: string;
}
