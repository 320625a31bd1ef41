import { ApiProperty } from '@nestjs/swagger';

/** The body of every error answer. */
export class ErrorResponseDto {
  @ApiProperty({ description: 'HTTP status code.', example: 400 })
  statusCode!: number;

  @ApiProperty({ description: 'HTTP reason phrase.', example: 'Bad Request' })
  error!: string;

  @ApiProperty({ description: 'What went wrong, naming the field for invalid input.', example: 'prompt must not be empty' })
  message!: string;

  @ApiProperty({
    description: 'A stable code for errors a client may act on: `budget_exceeded` (a key\'s budget is used up until the reset time in the message), `rate_limit_exceeded`, `model_not_allowed`, `context_length_exceeded`, `unsupported_field`.',
    example: 'budget_exceeded',
    required: false,
  })
  code?: string;
}
