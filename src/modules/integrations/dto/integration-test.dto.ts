import { ApiProperty } from '@nestjs/swagger';

export class IntegrationTestResponseDto {
  @ApiProperty({ description: 'The message was delivered.', example: true })
  ok!: boolean;

  @ApiProperty({ description: "Slack's HTTP status for the delivery.", example: 200 })
  status!: number;

  @ApiProperty({
    description: 'The text that was posted.',
    example: ':white_check_mark: Vega 0.1.0 on host: test message (sent from the API at 2025-06-01T12:00:00.000Z). The Slack integration works.',
  })
  text!: string;
}
