import { CreateConversations1732400000000 } from './1732400000000-create-conversations';
import { CreateConversationsFts1732480000000 } from './1732480000000-create-conversations-fts';
import { IndexFailedConversations1764979200000 } from './1764979200000-index-failed-conversations';
import { CreateSpoolApplied1796500000000 } from './1796500000000-create-spool-applied';
import { StoreWholeExchange1800000000000 } from './1800000000000-store-whole-exchange';
import { CreateAuditLog1810000000000 } from './1810000000000-create-audit-log';
import { AddResponseId1820000000000 } from './1820000000000-add-response-id';
import { CreateApiKeys1830000000000 } from './1830000000000-create-api-keys';
import { UsageRollup1840000000000 } from './1840000000000-usage-rollup';
import { AddServedModel1850000000000 } from './1850000000000-add-served-model';

/** Listed explicitly (not globbed) so they load the same from `src/` in tests and `dist/` in production. */
export const MIGRATIONS = [
  CreateConversations1732400000000,
  CreateConversationsFts1732480000000,
  IndexFailedConversations1764979200000,
  CreateSpoolApplied1796500000000,
  StoreWholeExchange1800000000000,
  CreateAuditLog1810000000000,
  AddResponseId1820000000000,
  CreateApiKeys1830000000000,
  UsageRollup1840000000000,
  AddServedModel1850000000000,
];
