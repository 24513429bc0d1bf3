/**
 * One network ACL per tier, a second, stateless fence behind the security groups. NACLs do not track connections,
 * so every allowed flow also needs its return traffic (ephemeral ports 1024-65535) allowed the other way.
 */
import { NetworkAcl, type NetworkAclEgress, type NetworkAclIngress } from "@cdktf/provider-aws/lib/network-acl";
import { Construct } from "constructs";
import { resourceName } from "../../config/names";

export interface TierNetworkAclsProps {
  readonly poolName: string;
  readonly vpcId: string;
  readonly vpcCidr: string;
  readonly relaySubnetIds: string[];
  readonly producerSubnetIds: string[];
  readonly managementSubnetIds: string[];
  readonly relayPort: number;
  readonly adminCidrs: readonly string[];
  /** Extra tcp/udp ports opened by `extraIngress`, per tier, with their source CIDRs. */
  readonly extraIngress?: readonly { tier: "relay" | "producer" | "management"; port: number; protocol: "tcp" | "udp"; cidr: string }[];
}

type Rule = NetworkAclIngress & NetworkAclEgress;
const EPHEMERAL = { fromPort: 1024, toPort: 65535 };
const ANYWHERE = "0.0.0.0/0";

const allow = (ruleNo: number, protocol: "tcp" | "udp" | "-1", cidrBlock: string, fromPort: number, toPort: number): Rule => ({
  ruleNo,
  action: "allow",
  protocol,
  cidrBlock,
  fromPort,
  toPort,
});

export class TierNetworkAcls extends Construct {
  constructor(scope: Construct, id: string, props: TierNetworkAclsProps) {
    super(scope, id);
    const name = (tier: string) => resourceName(props.poolName, `${tier}-nacl`);
    const { vpcCidr, relayPort } = props;
    const extra = (tier: "relay" | "producer" | "management", start: number) =>
      (props.extraIngress ?? []).filter((e) => e.tier === tier).map((e, i) => allow(start + i, e.protocol, e.cidr, e.port, e.port));

    // Relays: peers from anywhere on the relay port; everything else only from inside the VPC; out to anywhere
    // (relays dial public peers on whatever port they advertise, and fetch packages).
    new NetworkAcl(this, "relay", {
      vpcId: props.vpcId,
      subnetIds: props.relaySubnetIds,
      ingress: [
        allow(100, "tcp", ANYWHERE, relayPort, relayPort),
        allow(110, "tcp", vpcCidr, 0, 65535),
        allow(120, "tcp", ANYWHERE, EPHEMERAL.fromPort, EPHEMERAL.toPort),
        allow(130, "udp", ANYWHERE, EPHEMERAL.fromPort, EPHEMERAL.toPort),
        ...extra("relay", 200),
      ],
      egress: [allow(100, "tcp", ANYWHERE, 0, 65535), allow(110, "udp", ANYWHERE, 0, 65535)],
      tags: { Name: name("relay"), Role: "network", Tier: "relay" },
    });

    // Producers: only the VPC may talk to them. Outbound HTTPS to anywhere is for the S3 gateway endpoint (S3's public
    // addresses); with no internet route in the producer route tables nothing else is reachable that way.
    new NetworkAcl(this, "producer", {
      vpcId: props.vpcId,
      subnetIds: props.producerSubnetIds,
      ingress: [
        allow(100, "tcp", vpcCidr, 0, 65535),
        allow(110, "tcp", ANYWHERE, EPHEMERAL.fromPort, EPHEMERAL.toPort),
        ...extra("producer", 200),
      ],
      egress: [allow(100, "tcp", vpcCidr, 0, 65535), allow(110, "tcp", ANYWHERE, 443, 443)],
      tags: { Name: name("producer"), Role: "network", Tier: "producer" },
    });

    // Management (bastion, monitoring, sandbox): SSH from the admin ranges, return traffic, and the VPC.
    new NetworkAcl(this, "management", {
      vpcId: props.vpcId,
      subnetIds: props.managementSubnetIds,
      ingress: [
        ...props.adminCidrs.map((cidr, i) => allow(100 + i, "tcp", cidr, 22, 22)),
        allow(150, "tcp", vpcCidr, 0, 65535),
        allow(160, "tcp", ANYWHERE, EPHEMERAL.fromPort, EPHEMERAL.toPort),
        allow(170, "udp", ANYWHERE, EPHEMERAL.fromPort, EPHEMERAL.toPort),
        ...extra("management", 200),
      ],
      egress: [allow(100, "tcp", ANYWHERE, 0, 65535), allow(110, "udp", ANYWHERE, 0, 65535)],
      tags: { Name: name("management"), Role: "network", Tier: "management" },
    });
  }
}
