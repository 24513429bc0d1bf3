/**
 * The lab's VPC: one network namespace acting as the VPC router, with one bridge per subnet of the pool's address
 * plan (the gateway, `.1`, on each), and one namespace per instance plugged into its subnet's bridge with the
 * instance's fixed private address — what EC2's networking and DHCP give an instance.
 *
 *   operator (machine) ── pl<slot> ══ op [vpc netns: router, ip_forward=1] br-relay-a ══ eth0 [relay-1 netns]
 *                                                                           br-producer-a ══ eth0 [producer-1 netns] …
 *
 * - Routes as the stacks make them: every instance reaches the whole VPC CIDR through the router; instances in public
 *   subnets also have a default route (the internet gateway), producers none — so from a producer the lab's package
 *   proxy, like the internet, is unreachable, while the VPC endpoints in its own subnets are.
 * - The router namespace also holds the link-local services EC2 provides to every instance: the instance metadata
 *   service (169.254.169.254), the Amazon DNS resolver (169.254.169.253) and the time service (169.254.169.123), and
 *   the addresses the lab's stand-ins answer on (VPC endpoints, the package proxy).
 * - The operator's machine gets a route to the bastion's address only, so, as on AWS, no other instance can be reached
 *   except through the bastion. (Security groups are not modelled: they are tested at synth.)
 */
import { execFileSync } from "node:child_process";
import { intToIpv4, parseIpv4Cidr } from "../../config/cidr";
import type { AddressPlan, SubnetPlan } from "../../config/address-plan";

/** EC2's link-local services, answered in the router namespace. */
export const LINK_LOCAL = { metadata: "169.254.169.254", dns: "169.254.169.253", time: "169.254.169.123" } as const;
/** Where the lab's package proxy answers: an address outside the VPC (RFC 5737 TEST-NET-1), reached like the internet. */
export const INTERNET_SERVICES_ADDRESS = "192.0.2.80";

export class NetworkError extends Error {
  override name = "NetworkError";
}

function ip(...args: string[]): string {
  try {
    return execFileSync("ip", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  } catch (error) {
    const e = error as { stderr?: string; message: string };
    throw new NetworkError(`ip ${args.join(" ")}: ${(e.stderr ?? "").trim() || e.message}`);
  }
}

export interface VpcNetwork {
  /** The router namespace. */
  readonly namespace: string;
  /** Root-namespace end of the operator's link. */
  readonly operatorLink: string;
  readonly operatorAddress: string;
  readonly routerLinkAddress: string;
  readonly subnets: readonly { readonly id: string; readonly bridge: string; readonly cidr: string; readonly gateway: string; readonly public: boolean }[];
}

/** The n-th address of a network (config/cidr.ts's cidrHost refuses the ones AWS reserves, which the VPC itself uses). */
export function addressIn(cidrText: string, n: number): string {
  const cidr = parseIpv4Cidr(cidrText);
  if (!cidr) throw new NetworkError(`bad CIDR ${cidrText}`);
  return intToIpv4(cidr.network + n);
}

/** The VPC router's address in a subnet: AWS reserves `.1` for it. */
export function gatewayOf(subnet: Pick<SubnetPlan, "cidr">): string {
  return addressIn(subnet.cidr, 1);
}

/** Creates the router namespace, its bridges and the operator's link. `names` keeps interface names short and unique. */
export function createVpc(options: { namespace: string; plan: AddressPlan; operatorLink: string; operatorCidr30: string }): VpcNetwork {
  const { namespace, plan } = options;
  ip("netns", "add", namespace);
  ip("-n", namespace, "link", "set", "lo", "up");
  execFileSync("ip", ["netns", "exec", namespace, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1"]);
  for (const address of [...Object.values(LINK_LOCAL), INTERNET_SERVICES_ADDRESS]) ip("-n", namespace, "addr", "add", `${address}/32`, "dev", "lo");
  const subnets = plan.subnets.map((s, i) => {
    const bridge = `br${i}`;
    const prefix = s.cidr.split("/")[1];
    ip("-n", namespace, "link", "add", bridge, "type", "bridge");
    ip("-n", namespace, "addr", "add", `${gatewayOf(s)}/${prefix}`, "dev", bridge);
    ip("-n", namespace, "link", "set", bridge, "up");
    return { id: s.id, bridge, cidr: s.cidr, gateway: gatewayOf(s), public: s.public };
  });
  if (!options.operatorCidr30.endsWith("/30")) throw new NetworkError(`operator link ${options.operatorCidr30}: expected a /30`);
  const operatorAddress = addressIn(options.operatorCidr30, 1);
  const routerLinkAddress = addressIn(options.operatorCidr30, 2);
  ip("link", "add", options.operatorLink, "type", "veth", "peer", "name", "op", "netns", namespace);
  ip("addr", "add", `${operatorAddress}/30`, "dev", options.operatorLink);
  ip("link", "set", options.operatorLink, "up");
  ip("-n", namespace, "addr", "add", `${routerLinkAddress}/30`, "dev", "op");
  ip("-n", namespace, "link", "set", "op", "up");
  return { namespace, operatorLink: options.operatorLink, operatorAddress, routerLinkAddress, subnets };
}

/** Routing table of packets that come in from the operator's link (policy routing: no firewall needed). */
const OPERATOR_TABLE = "100";

/**
 * The operator's machine routes the whole VPC CIDR into the lab (so a probe of any instance address ends inside the
 * lab, never on this machine's own network), and the router forwards what comes from the operator only to the
 * bastion: every other address is unreachable from outside, as on AWS where only the bastion admits SSH.
 */
export function routeOperatorTo(vpc: VpcNetwork, vpcCidr: string, bastionAddress: string): void {
  ip("route", "replace", vpcCidr, "via", vpc.routerLinkAddress, "dev", vpc.operatorLink);
  const bastionSubnet = vpc.subnets.find((s) => cidrContains(s.cidr, bastionAddress));
  if (!bastionSubnet) throw new NetworkError(`bastion ${bastionAddress}: outside every subnet of the lab's VPC`);
  ip("-n", vpc.namespace, "route", "replace", `${bastionAddress}/32`, "dev", bastionSubnet.bridge, "table", OPERATOR_TABLE);
  ip("-n", vpc.namespace, "route", "replace", "unreachable", "default", "table", OPERATOR_TABLE);
  ip("-n", vpc.namespace, "rule", "add", "iif", "op", "table", OPERATOR_TABLE, "pref", "100");
}

export function cidrContains(cidr: string, address: string): boolean {
  const net = parseIpv4Cidr(cidr);
  const value = address.split(".").reduce((n, o) => n * 256 + Number(o), 0);
  return net !== undefined && value >= net.network && value < net.network + 2 ** (32 - net.prefixLength);
}


/** Adds an address the router answers on inside a subnet (a VPC endpoint's ENI address). */
export function addRouterAddress(vpc: VpcNetwork, subnetCidr: string, address: string): void {
  const subnet = vpc.subnets.find((s) => s.cidr === subnetCidr);
  if (!subnet) throw new NetworkError(`no subnet ${subnetCidr} in the lab's VPC`);
  ip("-n", vpc.namespace, "addr", "add", `${address}/32`, "dev", subnet.bridge);
}

export interface InstanceLink {
  readonly namespace: string;
  /** The router-side end of the instance's veth: `ip -n <vpc> link set <device> down` cuts the instance off. */
  readonly routerDevice: string;
}

/**
 * Plugs an instance's namespace into its subnet with its private address, the VPC route and, in a public subnet,
 * the default route; the link-local services route through the router as on EC2.
 */
export function plugInstance(vpc: VpcNetwork, options: { namespace: string; routerDevice: string; subnetCidr: string; privateIp: string; vpcCidr: string }): InstanceLink {
  const subnet = vpc.subnets.find((s) => s.cidr === options.subnetCidr);
  if (!subnet) throw new NetworkError(`instance ${options.privateIp}: no subnet ${options.subnetCidr} in the lab's VPC`);
  const ns = options.namespace;
  ip("netns", "add", ns);
  ip("-n", ns, "link", "set", "lo", "up");
  ip("-n", vpc.namespace, "link", "add", options.routerDevice, "type", "veth", "peer", "name", "eth0", "netns", ns);
  ip("-n", vpc.namespace, "link", "set", options.routerDevice, "master", subnet.bridge);
  ip("-n", vpc.namespace, "link", "set", options.routerDevice, "up");
  ip("-n", ns, "addr", "add", `${options.privateIp}/${subnet.cidr.split("/")[1]}`, "dev", "eth0");
  ip("-n", ns, "link", "set", "eth0", "up");
  if (options.vpcCidr !== subnet.cidr) ip("-n", ns, "route", "add", options.vpcCidr, "via", subnet.gateway, "dev", "eth0");
  for (const address of Object.values(LINK_LOCAL)) ip("-n", ns, "route", "add", `${address}/32`, "via", subnet.gateway, "dev", "eth0");
  if (subnet.public) ip("-n", ns, "route", "add", "default", "via", subnet.gateway, "dev", "eth0");
  return { namespace: ns, routerDevice: options.routerDevice };
}

export function namespaceExists(namespace: string): boolean {
  return ip("netns", "list").split("\n").some((line) => line.split(" ")[0] === namespace);
}

export function namespacePids(namespace: string): number[] {
  if (!namespaceExists(namespace)) return [];
  return ip("netns", "pids", namespace).split("\n").filter(Boolean).map(Number);
}

export function deleteNamespace(namespace: string): void {
  if (namespaceExists(namespace)) ip("netns", "del", namespace);
}

export function setRouterDevice(vpc: Pick<VpcNetwork, "namespace">, device: string, up: boolean): void {
  ip("-n", vpc.namespace, "link", "set", device, up ? "up" : "down");
}
