import { Controller, HttpCode, Post } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { AdminOnly } from '../../common/auth/scopes.decorator';
import { ApiErrors } from '../../common/errors/api-errors.decorator';
import { IntegrationTestResponseDto } from './dto/integration-test.dto';
import { IntegrationsService } from './integrations.service';

@ApiTags('integrations')
@AdminOnly()
@Controller('integrations')
@ApiErrors(401, 429)
export class IntegrationsController {
  constructor(private readonly integrations: IntegrationsService) {}

  @Post('test')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Send a test message to Slack',
    description:
      'Posts a short message to the incoming webhook of SLACK_WEBHOOK_URL through the outbound fetcher (its SSRF rules apply). Answers once Slack has accepted it.',
  })
  @ApiOkResponse({ type: IntegrationTestResponseDto })
  @ApiErrors(
    [400, 'Slack is not configured (SLACK_WEBHOOK_URL is unset), or the SSRF guard refuses the webhook address.'],
    [502, "Slack refused the message (its reason is in the message: invalid_payload, invalid_token, no_service, channel_is_archived…) or could not be reached."],
    [504, 'Slack did not answer within FETCH_TIMEOUT_SEC.'],
  )
  test(): Promise<IntegrationTestResponseDto> {
    return this.integrations.sendTestMessage('api');
  }
}
