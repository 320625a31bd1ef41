import { Module } from '@nestjs/common';
import { KeysController } from './keys.controller';
import { KeysModule } from './keys.module';
import { MeController } from './me.controller';

/** `/admin/keys` and `GET /me`. */
@Module({
  imports: [KeysModule],
  controllers: [KeysController, MeController],
})
export class KeysHttpModule {}
