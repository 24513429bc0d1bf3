/**
 * The security groups of every tier and the flows between them. Each rule says which flow of the architecture it
 * serves; groups start with no rules (Terraform removes AWS's default allow-all egress), so what is not here is denied.
 *
 *   internet ──relay port──▶ relays ──relay port──▶ producers
 *   admins ──ssh──▶ bastion ──ssh──▶ every node            monitoring ──12798, 9100──▶ every node
 */
import { SecurityGroup } from "@cdktf/provider-aws/lib/security-group";
import { VpcSecurityGroupEgressRule } from "@cdktf/provider-aws/lib/vpc-security-group-egress-rule";
import { VpcSecurityGroupIngressRule } from "@cdktf/provider-aws/lib/vpc-security-group-ingress-rule";
import { Construct } from "constructs";
import { resourceName } from "../../config/names";
import { isAnywhere } from "../../config/cidr";
import { GRAFANA_PORT } from "../../monitoring/grafana-access";
import { exemptFromPolicy } from "../policy/exemptions";

export type SecurityTier = "relay" | "producer" | "bastion" | "monitoring" | "sandbox";

export interface TierSecurityGroupsProps {
  readonly poolName: string;
  readonly vpcId: string;
  /** @default 3001 */
  readonly relayPort: number;
  /** cardano-node Prometheus port. @default 12798 */
  readonly nodeMetricsPort: number;
  /** @default 9100 */
  readonly nodeExporterPort: number;
  readonly adminCidrs: readonly string[];
  /** Prefix list of the S3 gateway endpoint, for producers' package and snapshot downloads. */
  readonly s3PrefixListId?: string;
  /** The interface endpoints' group: the only HTTPS destination of producers inside the VPC. */
  readonly endpointsSecurityGroupId: string;
  /** Extra rules from the pool config (`extraIngress`); they pass the same policy checks. */
  readonly extraIngress?: readonly { tier: "relay" | "producer" | "bastion" | "monitoring"; port: number; protocol: "tcp" | "udp"; cidrs: readonly string[]; description: string }[];
  /** Who may open the public delegator dashboard on Grafana's port (`monitoring.publicDashboard`). @default none */
  readonly publicDashboardCidrs?: readonly string[];
}

const SSH = 22;
const HTTPS = 443;
const ANYWHERE = "0.0.0.0/0";

export class TierSecurityGroups extends Construct {
  readonly groups: Record<SecurityTier, SecurityGroup>;

  constructor(scope: Construct, id: string, props: TierSecurityGroupsProps) {
    super(scope, id);
    const group = (tier: SecurityTier, description: string) =>
      new SecurityGroup(this, tier, {
        // A prefix, not a fixed name: create_before_destroy makes the replacement while the old group still exists,
        // and two groups of one VPC cannot share a name (a fixed name fails every replacement).
        namePrefix: `${resourceName(props.poolName, tier)}-`,
        description,
        vpcId: props.vpcId,
        tags: { Name: resourceName(props.poolName, tier), Role: tier },
        lifecycle: { createBeforeDestroy: true },
      });
    const g = (this.groups = {
      relay: group("relay", "Relays: the relay port from the internet; SSH from the bastion; metrics from monitoring"),
      producer: group("producer", "Block producers: the relay port from their own relays only; SSH from the bastion"),
      bastion: group("bastion", "Bastion: SSH from the admin ranges only"),
      monitoring: group("monitoring", "Monitoring: SSH and Grafana from the bastion only"),
      sandbox: group("sandbox", "Image sandbox: SSH from the bastion only"),
    });

    const ingress = (tier: SecurityTier, id: string, description: string, port: number, from: { cidr?: string; group?: SecurityTier }, protocol: "tcp" | "udp" = "tcp") =>
      new VpcSecurityGroupIngressRule(this, `${tier}-in-${id}`, {
        securityGroupId: g[tier].id,
        description,
        ipProtocol: protocol,
        fromPort: port,
        toPort: port,
        ...(from.cidr ? { cidrIpv4: from.cidr } : {}),
        ...(from.group ? { referencedSecurityGroupId: g[from.group].id } : {}),
      });
    const egress = (tier: SecurityTier, id: string, description: string, ports: [number, number], to: { cidr?: string; group?: SecurityTier; groupId?: string; prefixList?: string }) =>
      new VpcSecurityGroupEgressRule(this, `${tier}-out-${id}`, {
        securityGroupId: g[tier].id,
        description,
        ipProtocol: "tcp",
        fromPort: ports[0],
        toPort: ports[1],
        ...(to.cidr ? { cidrIpv4: to.cidr } : {}),
        ...(to.group ? { referencedSecurityGroupId: g[to.group].id } : {}),
        ...(to.groupId ? { referencedSecurityGroupId: to.groupId } : {}),
        ...(to.prefixList ? { prefixListId: to.prefixList } : {}),
      });

    // Relays: the only port the world may reach.
    const publicRelayPort = ingress("relay", "peers", "Cardano peers from the internet (node-to-node)", props.relayPort, { cidr: ANYWHERE });
    exemptFromPolicy(publicRelayPort, "SG-WORLD-INGRESS", "relays exist to accept node-to-node connections from public peers");
    ingress("relay", "producers", "Producers dialling their relays (P2P local roots are two-way)", props.relayPort, { group: "producer" });
    ingress("relay", "relays", "Relays dialling each other as local roots", props.relayPort, { group: "relay" });
    // Relays dial public peers on whatever port they advertise, and fetch packages and snapshots.
    egress("relay", "peers", "Cardano peers and package mirrors anywhere", [0, 65535], { cidr: ANYWHERE });

    // Producers: reachable only from their own relays; they reach out only to their relays and to AWS APIs.
    ingress("producer", "relays", "The pool's own relays (node-to-node)", props.relayPort, { group: "relay" });
    egress("producer", "relays", "Dial the pool's own relays", [props.relayPort, props.relayPort], { group: "relay" });
    // HTTPS only to the interface endpoints' group: a compromised producer cannot reach any other host on 443.
    egress("producer", "aws-apis", "AWS APIs through the interface endpoints (private DNS)", [HTTPS, HTTPS], { groupId: props.endpointsSecurityGroupId });
    if (props.s3PrefixListId) {
      egress("producer", "s3", "S3 through the gateway endpoint", [HTTPS, HTTPS], { prefixList: props.s3PrefixListId });
    }

    // SSH: admins → bastion → every other host; nothing else reaches port 22.
    for (const [i, cidr] of props.adminCidrs.entries()) {
      ingress("bastion", `ssh-admin-${i}`, `Operators' SSH from ${cidr} (bastion.adminCidrs)`, SSH, { cidr });
    }
    for (const tier of ["relay", "producer", "monitoring", "sandbox"] as const) {
      ingress(tier, "ssh-bastion", "SSH from the bastion only", SSH, { group: "bastion" });
      egress("bastion", `ssh-${tier}`, `SSH onwards to the ${tier} tier`, [SSH, SSH], { group: tier });
    }
    egress("bastion", "https", "Package updates and AWS APIs (SSM, CloudWatch)", [HTTPS, HTTPS], { cidr: ANYWHERE });

    // Monitoring scrapes every node; Grafana is reached through an SSH tunnel from the bastion.
    for (const tier of ["relay", "producer"] as const) {
      ingress(tier, "node-metrics", "cardano-node metrics scraped by monitoring", props.nodeMetricsPort, { group: "monitoring" });
      ingress(tier, "node-exporter", "node_exporter scraped by monitoring", props.nodeExporterPort, { group: "monitoring" });
      egress("monitoring", `metrics-${tier}`, `Scrape the ${tier} tier`, [props.nodeMetricsPort, props.nodeMetricsPort], { group: tier });
      egress("monitoring", `exporter-${tier}`, `Scrape node_exporter on the ${tier} tier`, [props.nodeExporterPort, props.nodeExporterPort], { group: tier });
    }
    ingress("monitoring", "grafana-bastion", "Grafana through an SSH tunnel via the bastion", GRAFANA_PORT, { group: "bastion" });
    egress("bastion", "grafana", "Forward operators' tunnels to Grafana", [GRAFANA_PORT, GRAFANA_PORT], { group: "monitoring" });
    egress("monitoring", "https", "SNS, CloudWatch, EC2 (Prometheus target discovery) and package updates", [HTTPS, HTTPS], { cidr: ANYWHERE });
    for (const [i, cidr] of (props.publicDashboardCidrs ?? []).entries()) {
      const rule = ingress("monitoring", `public-dashboard-${i}`, "The public delegator dashboard (monitoring.publicDashboard)", GRAFANA_PORT, { cidr });
      if (isAnywhere(cidr)) {
        exemptFromPolicy(rule, "SG-WORLD-INGRESS", "the operator enabled monitoring.publicDashboard for everyone; Grafana serves only the delegator dashboard without login");
      }
    }

    // The sandbox syncs a chain and downloads node releases while an image is baked.
    egress("sandbox", "peers", "Cardano peers and release downloads while baking an image", [0, 65535], { cidr: ANYWHERE });

    for (const [i, rule] of (props.extraIngress ?? []).entries()) {
      for (const [j, cidr] of rule.cidrs.entries()) {
        ingress(rule.tier, `extra-${i}-${j}`, rule.description, rule.port, { cidr }, rule.protocol);
      }
    }
  }

  securityGroupId(tier: SecurityTier): string {
    return this.groups[tier].id;
  }
}
