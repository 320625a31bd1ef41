import type { StrategyName } from '../../../config/routing-settings';
import type { Target } from './target';

/** Picks one of `candidates` (never empty, in configuration order) for a request for `model`. */
export type Strategy = (candidates: readonly Target[], model: string) => Target;

/** The first in configuration order: fail over in order. */
const priority: Strategy = (candidates) => candidates[0];

/** The fewest requests in flight relative to max concurrency; ties go to the earlier target. */
const leastBusy: Strategy = (candidates) => {
  let best = candidates[0];
  for (let index = 1; index < candidates.length; index += 1) {
    if (candidates[index].load < best.load) best = candidates[index];
  }
  return best;
};

/** A target that has the model in memory (no load time), the least busy of them; otherwise the least busy. */
const loadedFirst: Strategy = (candidates, model) => {
  let best: Target | undefined;
  for (const target of candidates) {
    if (target.hasLoaded(model) && (best === undefined || target.load < best.load)) best = target;
  }
  return best ?? leastBusy(candidates, model);
};

/**
 * Smooth weighted round robin (nginx's): each pick adds every candidate's weight to its
 * running score and takes the highest, which then gives back the total. Over any window the
 * shares follow the weights, without bursts to one target.
 */
function weighted(): Strategy {
  const scores = new WeakMap<Target, number>();
  return (candidates) => {
    let total = 0;
    let best = candidates[0];
    let bestScore = -Infinity;
    for (const target of candidates) {
      const score = (scores.get(target) ?? 0) + target.weight;
      scores.set(target, score);
      total += target.weight;
      if (score > bestScore) {
        best = target;
        bestScore = score;
      }
    }
    scores.set(best, bestScore - total);
    return best;
  };
}

export function strategyOf(name: StrategyName): Strategy {
  switch (name) {
    case 'priority':
      return priority;
    case 'least-busy':
      return leastBusy;
    case 'loaded-first':
      return loadedFirst;
    case 'weighted':
      return weighted();
  }
}
