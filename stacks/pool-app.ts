/** Which stacks make a pool, in dependency order. */
import type { Construct } from "constructs";
import type { PoolConfig } from "../config/schema";
import { NetworkStack } from "./network-stack";
import { MonitoringStack } from "./monitoring-stack";
import { NodesStack } from "./nodes-stack";
import { SecurityStack } from "./security-stack";

export interface PoolStacks {
  readonly network: NetworkStack;
  readonly security: SecurityStack;
  readonly nodes: NodesStack;
  readonly monitoring: MonitoringStack;
}

export function buildPoolStacks(scope: Construct, config: PoolConfig): PoolStacks {
  const network = new NetworkStack(scope, "network", config);
  const security = new SecurityStack(scope, "security", config, network);
  const nodes = new NodesStack(scope, "nodes", config, network, security);
  const monitoring = new MonitoringStack(scope, "monitoring", config, network, security, nodes);
  return { network, security, nodes, monitoring };
}
