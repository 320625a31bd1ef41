import { Controller, HttpCode, Post } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { AdminOnly } from '../../common/auth/scopes.decorator';
import { ApiErrors } from '../../common/errors/api-errors.decorator';
import { SystemPromptService } from '../../core/llm/system-prompt.service';
import { SystemPromptReloadResponseDto } from './dto/system-prompt.dto';

@ApiTags('admin')
@AdminOnly()
@Controller('admin/system-prompt')
@ApiErrors(401, 429)
export class SystemPromptController {
  constructor(private readonly systemPrompt: SystemPromptService) {}

  @Post('reload')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Reload the system prompt from SYSTEM_PROMPT_FILE',
    description:
      'Reads the file again and uses it for the next requests (no restart). The server also watches the file and reloads on its own shortly after it changes; this route makes it immediate and says what is loaded. Without SYSTEM_PROMPT_FILE there is nothing to read: file and sha256 are null.',
  })
  @ApiOkResponse({ type: SystemPromptReloadResponseDto })
  @ApiErrors([500, 'SYSTEM_PROMPT_FILE cannot be read now; the previous prompt stays in use (the message says why).'])
  reload(): SystemPromptReloadResponseDto {
    return this.systemPrompt.reload();
  }
}
