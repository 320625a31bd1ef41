import { CreateConversations1732400000000 } from './1732400000000-create-conversations';
import { CreateConversationsFts1732480000000 } from './1732480000000-create-conversations-fts';

/** Listed explicitly (not globbed) so they load the same from `src/` in tests and `dist/` in production. */
export const MIGRATIONS = [CreateConversations1732400000000, CreateConversationsFts1732480000000];
