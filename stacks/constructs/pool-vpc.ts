/**
 * The pool's VPC: six subnets over three AZs from the address plan. Relay and management subnets route to the
 * internet gateway; producer subnets (aws-cdk's PRIVATE_ISOLATED) have a route table with no route out at all.
 */
import { DefaultNetworkAcl } from "@cdktf/provider-aws/lib/default-network-acl";
import { DefaultRouteTable } from "@cdktf/provider-aws/lib/default-route-table";
import { DefaultSecurityGroup } from "@cdktf/provider-aws/lib/default-security-group";
import { InternetGateway } from "@cdktf/provider-aws/lib/internet-gateway";
import { RouteTable } from "@cdktf/provider-aws/lib/route-table";
import { RouteTableAssociation } from "@cdktf/provider-aws/lib/route-table-association";
import { Subnet } from "@cdktf/provider-aws/lib/subnet";
import { Vpc } from "@cdktf/provider-aws/lib/vpc";
import { Construct } from "constructs";
import type { SubnetPlan, SubnetTier } from "../../config/address-plan";
import { resourceName } from "../../config/names";

export interface PoolVpcProps {
  readonly poolName: string;
  readonly cidr: string;
  /** The six subnets of the address plan (three relay, two producer, one management). */
  readonly subnets: readonly SubnetPlan[];
}

/** What other constructs need of the VPC. */
export interface IPoolVpc {
  readonly vpcId: string;
  readonly cidr: string;
  subnetIdsOf(tier: SubnetTier): string[];
  subnetId(planId: string): string;
  readonly producerRouteTableIds: string[];
}

export class PoolVpc extends Construct implements IPoolVpc {
  readonly vpc: Vpc;
  readonly cidr: string;
  readonly subnets = new Map<string, { plan: SubnetPlan; subnet: Subnet }>();
  readonly publicRouteTable: RouteTable;
  readonly producerRouteTables: RouteTable[] = [];

  constructor(scope: Construct, id: string, props: PoolVpcProps) {
    super(scope, id);
    const name = (...parts: string[]) => resourceName(props.poolName, ...parts);
    this.cidr = props.cidr;

    this.vpc = new Vpc(this, "vpc", {
      cidrBlock: props.cidr,
      enableDnsSupport: true,
      // Interface endpoints with private DNS need DNS host names on.
      enableDnsHostnames: true,
      tags: { Name: name("vpc"), Role: "network" },
    });

    // Managed with no rules: anything launched without a group gets no traffic at all.
    new DefaultSecurityGroup(this, "default-sg", {
      vpcId: this.vpc.id,
      ingress: [],
      egress: [],
      tags: { Name: name("default-closed"), Role: "network" },
    });
    // Every subnet has its own NACL; the default one denies everything should a subnet ever fall back to it.
    new DefaultNetworkAcl(this, "default-nacl", {
      defaultNetworkAclId: this.vpc.defaultNetworkAclId,
      ingress: [],
      egress: [],
      tags: { Name: name("default-deny"), Role: "network" },
    });
    new DefaultRouteTable(this, "default-rt", {
      defaultRouteTableId: this.vpc.defaultRouteTableId,
      route: [],
      tags: { Name: name("default-unused"), Role: "network" },
    });

    const igw = new InternetGateway(this, "igw", { vpcId: this.vpc.id, tags: { Name: name("igw"), Role: "network" } });
    // Relays and the management tier share one public route table: only the default route to the IGW.
    this.publicRouteTable = new RouteTable(this, "public-rt", {
      vpcId: this.vpc.id,
      route: [{ cidrBlock: "0.0.0.0/0", gatewayId: igw.id }],
      tags: { Name: name("public"), Role: "network", Tier: "public" },
    });

    for (const plan of props.subnets) {
      const subnet = new Subnet(this, `subnet-${plan.id}`, {
        vpcId: this.vpc.id,
        cidrBlock: plan.cidr,
        availabilityZone: plan.availabilityZone,
        // Relays get Elastic IPs explicitly; nothing gets a public address by default.
        mapPublicIpOnLaunch: false,
        tags: { Name: name(plan.id), Role: "network", Tier: plan.tier },
      });
      this.subnets.set(plan.id, { plan, subnet });
      let routeTableId = this.publicRouteTable.id;
      if (!plan.public) {
        // One table per producer subnet, with no routes: only the implicit local route (and the S3 gateway endpoint).
        const table = new RouteTable(this, `rt-${plan.id}`, {
          vpcId: this.vpc.id,
          route: [],
          tags: { Name: name(plan.id), Role: "network", Tier: plan.tier },
        });
        this.producerRouteTables.push(table);
        routeTableId = table.id;
      }
      new RouteTableAssociation(this, `rta-${plan.id}`, { subnetId: subnet.id, routeTableId });
    }
  }

  get vpcId(): string {
    return this.vpc.id;
  }

  get producerRouteTableIds(): string[] {
    return this.producerRouteTables.map((t) => t.id);
  }

  subnetIdsOf(tier: SubnetTier): string[] {
    return [...this.subnets.values()].filter((s) => s.plan.tier === tier).map((s) => s.subnet.id);
  }

  subnetId(planId: string): string {
    const entry = this.subnets.get(planId);
    if (!entry) throw new Error(`no subnet "${planId}" in the VPC (have ${[...this.subnets.keys()].join(", ")})`);
    return entry.subnet.id;
  }
}
