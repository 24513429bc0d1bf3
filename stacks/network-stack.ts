/**
 * The network: one VPC, six subnets over three AZs, routes, endpoints, flow logs, NACLs and the tier security groups.
 * A stack only wires constructs.
 */
import { TerraformOutput, Token } from "cdktf";
import type { Construct } from "constructs";
import { poolAddressPlan } from "../config/address-plan";
import { DEFAULTS, type PoolConfig } from "../config/schema";
import { GRAFANA_PORT } from "../monitoring/grafana-access";
import { PoolStack } from "./pool-stack";
import { PoolVpc } from "./constructs/pool-vpc";
import { PrivateEndpoints } from "./constructs/private-endpoints";
import { TierNetworkAcls } from "./constructs/tier-network-acls";
import { TierSecurityGroups } from "./constructs/tier-security-groups";
import { VpcFlowLogs } from "./constructs/vpc-flow-logs";

const NACL_TIER = { relay: "relay", producer: "producer", bastion: "management", monitoring: "management" } as const;

export class NetworkStack extends PoolStack {
  readonly vpc: PoolVpc;
  readonly endpoints: PrivateEndpoints;
  readonly securityGroups: TierSecurityGroups;

  constructor(scope: Construct, id: string, config: PoolConfig) {
    super(scope, id, { config });
    const plan = poolAddressPlan(config);
    const publicDashboard = config.monitoring.publicDashboard;
    const publicDashboardCidrs = publicDashboard.enabled ? publicDashboard.cidrs : [];

    this.vpc = new PoolVpc(this, "vpc", { poolName: config.name, cidr: plan.vpcCidr, subnets: plan.subnets });
    new VpcFlowLogs(this, "flow-logs", {
      poolName: config.name,
      region: config.region,
      vpcId: this.vpc.vpcId,
      retentionDays: config.vpc.flowLogRetentionDays,
    });
    this.endpoints = new PrivateEndpoints(this, "endpoints", {
      poolName: config.name,
      region: config.region,
      vpcId: this.vpc.vpcId,
      vpcCidr: plan.vpcCidr,
      subnetIds: this.vpc.subnetIdsOf("producer"),
      routeTableIds: this.vpc.producerRouteTableIds,
      services: config.vpc.interfaceEndpoints,
    });
    new TierNetworkAcls(this, "nacls", {
      poolName: config.name,
      vpcId: this.vpc.vpcId,
      vpcCidr: plan.vpcCidr,
      relaySubnetIds: this.vpc.subnetIdsOf("relay"),
      producerSubnetIds: this.vpc.subnetIdsOf("producer"),
      managementSubnetIds: this.vpc.subnetIdsOf("management"),
      relayPort: config.relays.port,
      adminCidrs: config.bastion.adminCidrs,
      extraIngress: [
        ...config.extraIngress.flatMap((rule) => rule.cidrs.map((cidr) => ({ tier: NACL_TIER[rule.tier], port: rule.port, protocol: rule.protocol, cidr }))),
        ...publicDashboardCidrs.map((cidr) => ({ tier: "management" as const, port: GRAFANA_PORT, protocol: "tcp" as const, cidr })),
      ],
    });
    this.securityGroups = new TierSecurityGroups(this, "security-groups", {
      poolName: config.name,
      vpcId: this.vpc.vpcId,
      vpcCidr: plan.vpcCidr,
      relayPort: config.relays.port,
      nodeMetricsPort: config.node.metricsPort,
      nodeExporterPort: DEFAULTS.nodeExporterPort,
      adminCidrs: config.bastion.adminCidrs,
      s3PrefixListId: this.endpoints.s3.prefixListId,
      extraIngress: config.extraIngress,
      publicDashboardCidrs,
    });

    new TerraformOutput(this, "vpc_id", { value: this.vpc.vpcId });
    new TerraformOutput(this, "subnets", {
      // A token, not a plain object: cdktf 0.21's TerraformOutput checks plain values with util.isArray, deprecated
      // (DEP0044, printed) since Node 22. The token resolves to the same JSON.
      value: Token.asAny(Object.fromEntries([...this.vpc.subnets.entries()].map(([planId, { subnet }]) => [planId, subnet.id]))),
    });
  }
}
