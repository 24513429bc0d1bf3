/**
 * Shared reading of security-group ingress, whatever form it takes: `aws_vpc_security_group_ingress_rule`,
 * `aws_security_group_rule` of type ingress, or inline `ingress` blocks on `aws_security_group`.
 */
import { asRecords, stringsOf, type PolicyContext, type PolicyResource } from "../rule";

export interface IngressView {
  /** The security group the rule admits traffic into. */
  readonly group: PolicyResource | undefined;
  readonly protocol: string;
  readonly fromPort: number;
  readonly toPort: number;
  readonly cidrs: readonly string[];
  /** Source security groups, resolved where they are in the app. */
  readonly sourceGroups: readonly (PolicyResource | undefined)[];
}

export const INGRESS_RESOURCE_TYPES = [
  "aws_vpc_security_group_ingress_rule",
  "aws_security_group_rule",
  "aws_security_group",
] as const;

const ALL_PORTS = { fromPort: 0, toPort: 65535 };

function ports(from: unknown, to: unknown, protocol: string): { fromPort: number; toPort: number } {
  if (protocol === "-1" || protocol === "all") return ALL_PORTS;
  const fromPort = Number(from ?? 0);
  const toPort = Number(to ?? fromPort);
  return { fromPort, toPort };
}

export function ingressOf(resource: PolicyResource, context: PolicyContext): IngressView[] {
  const c = resource.config;
  if (resource.type === "aws_vpc_security_group_ingress_rule") {
    const protocol = String(c.ip_protocol ?? "-1");
    return [
      {
        group: context.referenced(resource, c.security_group_id),
        protocol,
        ...ports(c.from_port, c.to_port, protocol),
        cidrs: [...stringsOf(c.cidr_ipv4), ...stringsOf(c.cidr_ipv6)],
        sourceGroups: c.referenced_security_group_id ? [context.referenced(resource, c.referenced_security_group_id)] : [],
      },
    ];
  }
  if (resource.type === "aws_security_group_rule") {
    if (c.type !== "ingress") return [];
    const protocol = String(c.protocol ?? "-1");
    return [
      {
        group: context.referenced(resource, c.security_group_id),
        protocol,
        ...ports(c.from_port, c.to_port, protocol),
        cidrs: [...stringsOf(c.cidr_blocks), ...stringsOf(c.ipv6_cidr_blocks)],
        sourceGroups: c.source_security_group_id ? [context.referenced(resource, c.source_security_group_id)] : [],
      },
    ];
  }
  // Inline blocks on the group itself.
  return asRecords(c.ingress).map((block) => {
    const protocol = String(block.protocol ?? "-1");
    return {
      group: resource,
      protocol,
      ...ports(block.from_port, block.to_port, protocol),
      cidrs: [...stringsOf(block.cidr_blocks), ...stringsOf(block.ipv6_cidr_blocks)],
      sourceGroups: stringsOf(block.security_groups).map((ref) => context.referenced(resource, ref)),
    };
  });
}

export function coversPort(view: IngressView, port: number): boolean {
  const protocolMatches = view.protocol === "-1" || view.protocol === "all" || view.protocol === "tcp" || view.protocol === "6";
  return protocolMatches && view.fromPort <= port && port <= view.toPort;
}

export function describeIngress(view: IngressView): string {
  const range = view.fromPort === view.toPort ? `port ${view.fromPort}` : `ports ${view.fromPort}-${view.toPort}`;
  return `${view.protocol === "-1" ? "all traffic" : `${view.protocol} ${range}`}`;
}
