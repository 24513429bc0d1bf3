/**
 * `pool-ops image rollout`: every relay and producer replaced by an instance of the golden image, one node at a time
 * — `pool-ops rollout` (ops/commands/rollout.ts) with the image set and nothing else pending in the nodes stack.
 *
 * A replacement is Terraform's: `terraform apply -replace=<instance>` in the synthesised nodes stack, which re-creates
 * the instance from its role's golden-AMI parameter and re-attaches its chain volume (the database survives), so the
 * state never drifts from the pool. A node already on the image is only health-checked.
 */
import type { LeaseGuard } from "../lease/lease-guard";
import { NO_LEASE } from "../lease/lease-guard";
import type { OpsContext } from "../context";
import { rollout as rolloutPlan, type RolloutOptions } from "./rollout";

export type { RolloutOptions } from "./rollout";

export function rollout(ctx: OpsContext, options: RolloutOptions, lease: LeaseGuard = NO_LEASE): Promise<number> {
  return rolloutPlan(ctx, options, lease, { imageRollout: true });
}
