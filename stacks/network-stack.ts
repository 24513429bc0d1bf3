/**
 * The network: one VPC, six subnets over three AZs, routes, endpoints, flow logs, NACLs and the tier security groups.
 * A stack only wires constructs.
 */
import { TerraformOutput, Token } from "cdktf";
import type { Construct } from "constructs";
import { endpointAddresses, poolAddressPlan } from "../config/address-plan";
import { DEFAULTS, type PoolConfig } from "../config/schema";
import { GRAFANA_PORT } from "../monitoring/grafana-access";
import { PoolStack } from "./pool-stack";
import { PoolVpc } from "./constructs/pool-vpc";
import { PrivateEndpoints } from "./constructs/private-endpoints";
import { TierNetworkAcls, type NaclExtraIngress } from "./constructs/tier-network-acls";
import { parseIpv4Cidr } from "../config/cidr";
import { TierSecurityGroups } from "./constructs/tier-security-groups";
import { VpcFlowLogs } from "./constructs/vpc-flow-logs";

const NACL_TIER = { relay: "relay", producer: "producer", bastion: "management", monitoring: "management" } as const;

/**
 * The extra ingress ranges of the config, each with the field it comes from. IPv6 ranges are refused: the pool's VPC
 * has no IPv6 block, so no host has an IPv6 address a rule could admit, and AWS would reject an IPv6 range written
 * as an IPv4 rule (`cidr_block`, `cidr_ipv4`) at apply, half-way through a deploy.
 */
function extraIngressRanges(config: PoolConfig): (NaclExtraIngress & { field: string })[] {
  return config.extraIngress.flatMap((rule, i) =>
    rule.cidrs.map((cidr, j) => {
      const field = `extraIngress[${i}].cidrs[${j}]`;
      if (cidr.includes(":")) throw new Error(`${field}: ${cidr} is an IPv6 range, but the pool's VPC has no IPv6 (no host has an IPv6 address); use IPv4 ranges`);
      if (!parseIpv4Cidr(cidr)) throw new Error(`${field}: expected a canonical IPv4 CIDR such as 192.0.2.0/24 (host bits zero), got ${JSON.stringify(cidr)}`);
      return { tier: NACL_TIER[rule.tier], port: rule.port, protocol: rule.protocol, cidr, field };
    }),
  );
}

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
      subnets: Object.entries(endpointAddresses(config)).map(([planId, addresses]) => ({ subnetId: this.vpc.subnetId(planId), addresses })),
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
      adminCidrs: config.bastion.adminCidrs.map((cidr, i) => ({ cidr, field: `bastion.adminCidrs[${i}]` })),
      extraIngress: [
        ...extraIngressRanges(config),
        ...publicDashboardCidrs.map((cidr, i) => ({ tier: "management" as const, port: GRAFANA_PORT, protocol: "tcp" as const, cidr, field: `monitoring.publicDashboard.cidrs[${i}]` })),
      ],
    });
    this.securityGroups = new TierSecurityGroups(this, "security-groups", {
      poolName: config.name,
      vpcId: this.vpc.vpcId,
      relayPort: config.relays.port,
      nodeMetricsPort: config.node.metricsPort,
      nodeExporterPort: DEFAULTS.nodeExporterPort,
      adminCidrs: config.bastion.adminCidrs,
      s3PrefixListId: this.endpoints.s3.prefixListId,
      endpointsSecurityGroupId: this.endpoints.securityGroup.id,
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
