// The names of the election policies, as reported in `ElectResponse.policy_name`.
import type { PolicyConfig } from '@regent/proto/election';

/** Every policy name, the default first. */
export const policyNames = ['rocketmq-default', 'zone-aware', 'max-lag', 'rules'] as const;

export type PolicyName = (typeof policyNames)[number];

/** The name of the policy `config` selects; no config (or no policy set) is `rocketmq-default`. */
export function policyName(config: PolicyConfig | undefined): PolicyName {
  switch (config?.policy.case) {
    case undefined:
    case 'rocketmqDefault':
      return 'rocketmq-default';
    case 'zoneAware':
      return 'zone-aware';
    case 'maxLag':
      return 'max-lag';
    case 'rules':
      return 'rules';
  }
}
