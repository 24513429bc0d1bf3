/** Which stacks make a pool, in dependency order. */
import type { Construct } from "constructs";
import type { PoolConfig } from "../config/schema";
import { NetworkStack } from "./network-stack";

export interface PoolStacks {
  readonly network: NetworkStack;
}

/** Stack ids in the order they must be applied (destroy in reverse). */
export const STACK_ORDER = ["network"] as const;

export function buildPoolStacks(scope: Construct, config: PoolConfig): PoolStacks {
  const network = new NetworkStack(scope, "network", config);
  return { network };
}
