/** Which stacks make a pool, in dependency order. */
import type { Construct } from "constructs";
import type { PoolConfig } from "../config/schema";
import { NetworkStack } from "./network-stack";
import { SecurityStack } from "./security-stack";

export interface PoolStacks {
  readonly network: NetworkStack;
  readonly security: SecurityStack;
}

/** Stack ids in the order they must be applied (destroy in reverse). */
export const STACK_ORDER = ["network", "security"] as const;

export function buildPoolStacks(scope: Construct, config: PoolConfig): PoolStacks {
  const network = new NetworkStack(scope, "network", config);
  const security = new SecurityStack(scope, "security", config, network);
  return { network, security };
}
