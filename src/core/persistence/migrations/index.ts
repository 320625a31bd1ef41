import { CreateConversations1732400000000 } from './1732400000000-create-conversations';

/** Listed explicitly (not globbed) so they load the same from `src/` in tests and `dist/` in production. */
export const MIGRATIONS = [CreateConversations1732400000000];
