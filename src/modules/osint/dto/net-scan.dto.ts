import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ArrayMaxSize, ArrayMinSize, IsArray, IsInt, IsNumber, IsString, Max, MaxLength, Min, MinLength } from 'class-validator';
import { IsOptionalNotNull } from '../../../common/validation/optional';
import { IsHostOrAddress } from './host-or-address.validator';

export const MAX_SCAN_PORTS = 1024;

export class NetScanRequestDto {
  @ApiProperty({ description: 'Host name or IP address; it must be covered by NET_SCAN_ALLOW (every address it resolves to).', example: '127.0.0.1', maxLength: 253 })
  @IsString()
  @MinLength(1, { message: 'host must not be empty' })
  @MaxLength(253)
  @IsHostOrAddress()
  host!: string;

  @ApiProperty({ description: `TCP ports to try, 1..65535, at most ${MAX_SCAN_PORTS}.`, type: [Number], example: [22, 80, 443] })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(MAX_SCAN_PORTS)
  @IsInt({ each: true, message: 'each value in ports must be an integer' })
  @Min(1, { each: true, message: 'each value in ports must be at least 1' })
  @Max(65535, { each: true, message: 'each value in ports must be at most 65535' })
  ports!: number[];

  @ApiPropertyOptional({ description: 'Seconds to wait for each connection.', minimum: 0.01, maximum: 10, default: 0.6 })
  @IsOptionalNotNull()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0.01)
  @Max(10)
  timeout: number = 0.6;

  @ApiPropertyOptional({ description: 'Connections tried at once.', minimum: 1, maximum: 1000, default: 200 })
  @IsOptionalNotNull()
  @IsInt()
  @Min(1)
  @Max(1000)
  concurrency: number = 200;
}

export class PortResultDto {
  @ApiProperty({ example: 443 })
  port!: number;

  @ApiProperty({
    enum: ['open', 'closed', 'filtered'],
    description: 'open: the connection was accepted; closed: refused; filtered: no answer within the timeout (or unreachable).',
    example: 'open',
  })
  state!: 'open' | 'closed' | 'filtered';
}

export class NetScanResponseDto {
  @ApiProperty({ example: '127.0.0.1', description: 'The host as given.' })
  host!: string;

  @ApiProperty({ example: '127.0.0.1', description: 'The address that was scanned.' })
  address!: string;

  @ApiProperty({ type: [PortResultDto], description: 'One result per distinct port, in the order given.' })
  results!: PortResultDto[];
}
