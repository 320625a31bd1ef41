import { InMemoryUsageLimiter } from '../../src/core/limits/in-memory-usage-limiter';
import { usageLimiterContract } from '../support/usage-limiter-contract';

describe(InMemoryUsageLimiter.name, () => {
  usageLimiterContract((source, clock) => new InMemoryUsageLimiter(source, clock));
});
