/**
 * One network ACL per tier, a second, stateless fence behind the security groups. NACLs do not track connections,
 * so every allowed flow also needs its return traffic (ephemeral ports 1024-65535) allowed the other way.
 *
 * AWS refuses more than 20 rules per direction of one network ACL (VPC quota "Rules per network ACL", adjustable up
 * to 40: https://docs.aws.amazon.com/vpc/latest/userguide/amazon-vpc-limits.html). Synth refuses a config that needs
 * more, naming the fields the rules come from, instead of a pool whose apply fails half-way.
 */
import { NetworkAcl, type NetworkAclEgress, type NetworkAclIngress } from "@cdktf/provider-aws/lib/network-acl";
import { Construct } from "constructs";
import { resourceName } from "../../config/names";

/** AWS's default quota of rules per direction (inbound or outbound) of one network ACL. */
export const NACL_RULES_PER_DIRECTION = 20;

/** An address range with the config field it comes from (`bastion.adminCidrs[0]`), for error messages. */
export interface SourcedCidr {
  readonly cidr: string;
  readonly field: string;
}

export interface NaclExtraIngress extends SourcedCidr {
  readonly tier: "relay" | "producer" | "management";
  readonly port: number;
  readonly protocol: "tcp" | "udp";
}

export interface TierNetworkAclsProps {
  readonly poolName: string;
  readonly vpcId: string;
  readonly vpcCidr: string;
  readonly relaySubnetIds: string[];
  readonly producerSubnetIds: string[];
  readonly managementSubnetIds: string[];
  readonly relayPort: number;
  readonly adminCidrs: readonly SourcedCidr[];
  /** Extra tcp/udp ports opened by `extraIngress` (and the public dashboard), per tier, with their source CIDRs. */
  readonly extraIngress?: readonly NaclExtraIngress[];
  /** @default NACL_RULES_PER_DIRECTION (raise it only after AWS raised the account's quota) */
  readonly maxRulesPerDirection?: number;
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
    const limit = props.maxRulesPerDirection ?? NACL_RULES_PER_DIRECTION;
    const extras = (tier: NaclExtraIngress["tier"]) => (props.extraIngress ?? []).filter((e) => e.tier === tier);
    const extra = (tier: NaclExtraIngress["tier"], start: number) => extras(tier).map((e, i) => allow(start + i, e.protocol, e.cidr, e.port, e.port));
    const checked = (tier: string, direction: "inbound" | "outbound", rules: Rule[], fields: readonly SourcedCidr[]) => {
      if (rules.length > limit) {
        const counts = new Map<string, number>();
        for (const f of fields) {
          const field = f.field.replace(/\[\d+\]$/, "");
          counts.set(field, (counts.get(field) ?? 0) + 1);
        }
        const from = [...counts].map(([field, n]) => `${field} (${n})`).join(", ");
        throw new Error(
          `network ACL ${tier}: ${rules.length} ${direction} rules, more than AWS's ${limit} per network ACL ` +
            `(the rules from config: ${from}); use fewer or wider CIDRs, or ask AWS to raise "Rules per network ACL" (up to 40)`,
        );
      }
      return rules;
    };

    // Relays: peers from anywhere on the relay port; everything else only from inside the VPC; out to anywhere
    // (relays dial public peers on whatever port they advertise, and fetch packages).
    new NetworkAcl(this, "relay", {
      vpcId: props.vpcId,
      subnetIds: props.relaySubnetIds,
      ingress: checked("relay", "inbound", [
        allow(100, "tcp", ANYWHERE, relayPort, relayPort),
        allow(110, "tcp", vpcCidr, 0, 65535),
        allow(120, "tcp", ANYWHERE, EPHEMERAL.fromPort, EPHEMERAL.toPort),
        allow(130, "udp", ANYWHERE, EPHEMERAL.fromPort, EPHEMERAL.toPort),
        ...extra("relay", 200),
      ], extras("relay")),
      egress: [allow(100, "tcp", ANYWHERE, 0, 65535), allow(110, "udp", ANYWHERE, 0, 65535)],
      tags: { Name: name("relay"), Role: "network", Tier: "relay" },
    });

    // Producers: only the VPC may talk to them. Outbound HTTPS to anywhere is for the S3 gateway endpoint (S3's public
    // addresses); with no internet route in the producer route tables nothing else is reachable that way.
    new NetworkAcl(this, "producer", {
      vpcId: props.vpcId,
      subnetIds: props.producerSubnetIds,
      ingress: checked("producer", "inbound", [
        allow(100, "tcp", vpcCidr, 0, 65535),
        allow(110, "tcp", ANYWHERE, EPHEMERAL.fromPort, EPHEMERAL.toPort),
        ...extra("producer", 200),
      ], extras("producer")),
      egress: [allow(100, "tcp", vpcCidr, 0, 65535), allow(110, "tcp", ANYWHERE, 443, 443)],
      tags: { Name: name("producer"), Role: "network", Tier: "producer" },
    });

    // Management (bastion, monitoring, sandbox): SSH from the admin ranges, return traffic, and the VPC.
    new NetworkAcl(this, "management", {
      vpcId: props.vpcId,
      subnetIds: props.managementSubnetIds,
      ingress: checked("management", "inbound", [
        ...props.adminCidrs.map(({ cidr }, i) => allow(100 + i, "tcp", cidr, 22, 22)),
        allow(150, "tcp", vpcCidr, 0, 65535),
        allow(160, "tcp", ANYWHERE, EPHEMERAL.fromPort, EPHEMERAL.toPort),
        allow(170, "udp", ANYWHERE, EPHEMERAL.fromPort, EPHEMERAL.toPort),
        ...extra("management", 200),
      ], [...props.adminCidrs, ...extras("management")]),
      egress: [allow(100, "tcp", ANYWHERE, 0, 65535), allow(110, "udp", ANYWHERE, 0, 65535)],
      tags: { Name: name("management"), Role: "network", Tier: "management" },
    });
  }
}
