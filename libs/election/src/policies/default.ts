// rocketmq-default: RocketMQ's DefaultElectPolicy ranking over the live pool members (see ranking.ts for the
// two bugs fixed).
import { describeRanking, type PoolRanker } from '../election.js';
import { rankDefault } from '../ranking.js';

/** Orders every live pool member by the default ranking; excludes nobody. */
export const defaultRanker: PoolRanker = (pool) => ({
  ranked: describeRanking(rankDefault(pool.live)),
  excluded: new Map(),
});
