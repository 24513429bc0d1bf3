/**
 * Where everything lives: subnets carved per AZ from the VPC CIDR and a fixed private address per host.
 *
 * Fixed addresses keep every node's topology stable when an instance is replaced (a golden-image rollout): the
 * replacement takes the same IP, so no other node's topology changes. Stacks and pool-ops both read this plan.
 */
import { cidrHost, cidrSubnet, formatCidr, parseIpv4Cidr } from "./cidr";
import { ALL_INTERFACE_ENDPOINTS, type InterfaceEndpointService, type PoolConfig } from "./schema";

export type SubnetTier = "relay" | "producer" | "management";
export type HostRole = "relay" | "producer" | "bastion" | "monitoring" | "sandbox";

export interface SubnetPlan {
  /** Stable id, also the construct id: `relay-a`, `producer-b`, `management`. */
  readonly id: string;
  readonly tier: SubnetTier;
  readonly availabilityZone: string;
  readonly cidr: string;
  /** Public subnets route 0.0.0.0/0 to the internet gateway; producer subnets never do. */
  readonly public: boolean;
}

export interface HostPlan {
  /** Host name, also the `Name` tag suffix and the inventory key: `relay-1`, `producer-1`, `bastion`. */
  readonly name: string;
  readonly role: HostRole;
  readonly subnetId: string;
  readonly availabilityZone: string;
  readonly privateIp: string;
}

/** One interface endpoint's network interface in one producer subnet, at a pinned address. */
export interface EndpointAddressPlan {
  /** The producer subnet's plan id: `producer-a`, `producer-b`. */
  readonly subnetId: string;
  readonly service: InterfaceEndpointService;
  readonly privateIp: string;
}

export interface AddressPlan {
  readonly vpcCidr: string;
  readonly subnets: readonly SubnetPlan[];
  readonly hosts: readonly HostPlan[];
  /** Every interface endpoint's address in every producer subnet (`vpc.interfaceEndpoints` only). */
  readonly endpoints: readonly EndpointAddressPlan[];
}

// Subnet index blocks inside the VPC: relays 0-2, producers 8-9, management 16. Gaps leave room to grow a tier.
const RELAY_NETNUM = 0;
const PRODUCER_NETNUM = 8;
const MANAGEMENT_NETNUM = 16;
/** First host number used in each subnet (AWS reserves .0-.3; .4-.9 stay free). */
const FIRST_HOST = 10;
const AZ_LETTERS = "abc";

export function producerAzs(config: PoolConfig): { primary: string; standby: string } {
  const [first, second] = config.availabilityZones;
  return {
    primary: config.producers.primaryAz ?? (first as string),
    standby: config.producers.standbyAz ?? (second as string),
  };
}

/** The management subnet (bastion, monitoring, sandbox) sits in the AZ not used by either producer when possible. */
function managementAz(config: PoolConfig): string {
  const { primary, standby } = producerAzs(config);
  return config.availabilityZones.find((az) => az !== primary && az !== standby) ?? (config.availabilityZones[0] as string);
}

export function poolAddressPlan(config: PoolConfig): AddressPlan {
  const vpc = parseIpv4Cidr(config.vpc.cidr);
  if (!vpc) throw new Error(`vpc.cidr: expected an IPv4 CIDR, got ${JSON.stringify(config.vpc.cidr)}`);
  const prefix = config.vpc.subnetPrefixLength;
  if (prefix - vpc.prefixLength < 5) {
    throw new Error(
      `vpc.subnetPrefixLength: expected at least /${vpc.prefixLength + 5} inside ${config.vpc.cidr} ` +
        `(the plan uses 17 subnet blocks), got /${prefix}`,
    );
  }
  const carve = (netnum: number) => formatCidr(cidrSubnet(vpc, prefix, netnum));
  const { primary, standby } = producerAzs(config);

  const subnets: SubnetPlan[] = [
    ...config.availabilityZones.map((az, i) => ({
      id: `relay-${AZ_LETTERS[i]}`,
      tier: "relay" as const,
      availabilityZone: az,
      cidr: carve(RELAY_NETNUM + i),
      public: true,
    })),
    { id: "producer-a", tier: "producer", availabilityZone: primary, cidr: carve(PRODUCER_NETNUM), public: false },
    { id: "producer-b", tier: "producer", availabilityZone: standby, cidr: carve(PRODUCER_NETNUM + 1), public: false },
    { id: "management", tier: "management", availabilityZone: managementAz(config), cidr: carve(MANAGEMENT_NETNUM), public: true },
  ];

  const subnet = (id: string): SubnetPlan => {
    const found = subnets.find((s) => s.id === id);
    if (!found) throw new Error(`no subnet ${id} in the address plan`);
    return found;
  };
  const host = (name: string, role: HostRole, subnetId: string, hostIndex: number): HostPlan => {
    const s = subnet(subnetId);
    const cidr = parseIpv4Cidr(s.cidr);
    if (!cidr) throw new Error(`bad subnet CIDR ${s.cidr}`);
    return { name, role, subnetId, availabilityZone: s.availabilityZone, privateIp: cidrHost(cidr, FIRST_HOST + hostIndex) };
  };

  const hosts: HostPlan[] = [];
  for (let n = 0; n < config.relays.count; n++) {
    // Round-robin over the three relay subnets: relay-1 in AZ a, relay-2 in b, relay-3 in c, relay-4 in a, …
    hosts.push(host(`relay-${n + 1}`, "relay", `relay-${AZ_LETTERS[n % 3]}`, Math.floor(n / 3)));
  }
  hosts.push(host("producer-1", "producer", "producer-a", 0));
  hosts.push(host("producer-2", "producer", "producer-b", 0));
  hosts.push(host("bastion", "bastion", "management", 0));
  hosts.push(host("monitoring", "monitoring", "management", 1));
  if (config.sandbox.enabled) hosts.push(host("sandbox", "sandbox", "management", 2));

  const endpoints = endpointPlan(config, subnets);
  assertDisjoint(hosts, endpoints);
  return { vpcCidr: config.vpc.cidr, subnets, hosts, endpoints };
}

/**
 * Interface endpoints' addresses, pinned (`subnet_configuration { ipv4 }` on aws_vpc_endpoint). Unpinned, AWS gives
 * each endpoint network interface any free address of its subnet, and one can take a producer's fixed address first
 * (the producer's launch then fails with InvalidIPAddress.InUse). They sit at the top of each producer subnet, counting
 * down from the last usable address (AWS reserves the last one) by the service's place in ALL_INTERFACE_ENDPOINTS, so
 * adding or dropping a service never moves another's address: secretsmanager at .254 of a /24, ssm .253, … monitoring
 * .248. Hosts count up from .10, so the two ranges are disjoint (checked below).
 */
function endpointPlan(config: PoolConfig, subnets: readonly SubnetPlan[]): EndpointAddressPlan[] {
  const plans: EndpointAddressPlan[] = [];
  for (const subnet of subnets.filter((s) => s.tier === "producer")) {
    const cidr = parseIpv4Cidr(subnet.cidr);
    if (!cidr) throw new Error(`bad subnet CIDR ${subnet.cidr}`);
    const lastUsable = 2 ** (32 - cidr.prefixLength) - 2;
    for (const service of config.vpc.interfaceEndpoints) {
      plans.push({ subnetId: subnet.id, service, privateIp: cidrHost(cidr, lastUsable - ALL_INTERFACE_ENDPOINTS.indexOf(service)) });
    }
  }
  return plans;
}

function assertDisjoint(hosts: readonly HostPlan[], endpoints: readonly EndpointAddressPlan[]): void {
  const taken = new Map(hosts.map((h) => [h.privateIp, `host ${h.name}`]));
  for (const endpoint of endpoints) {
    const owner = taken.get(endpoint.privateIp);
    if (owner) {
      throw new Error(
        `vpc.interfaceEndpoints: the ${endpoint.service} endpoint's address ${endpoint.privateIp} in ${endpoint.subnetId} is also ${owner}'s ` +
          "fixed address (use a larger vpc.subnetPrefixLength range, i.e. a smaller prefix)",
      );
    }
    taken.set(endpoint.privateIp, `the ${endpoint.service} endpoint`);
  }
}

/**
 * The pinned interface-endpoint addresses per producer subnet and service, e.g.
 * `{ "producer-a": { secretsmanager: "10.40.8.254", kms: "10.40.8.250", … }, "producer-b": { … } }`. The stacks pin the
 * endpoints there; the lab puts its endpoint stand-in at exactly these addresses.
 */
export function endpointAddresses(config: PoolConfig): Record<string, Partial<Record<InterfaceEndpointService, string>>> {
  const result: Record<string, Partial<Record<InterfaceEndpointService, string>>> = {};
  for (const e of poolAddressPlan(config).endpoints) (result[e.subnetId] ??= {})[e.service] = e.privateIp;
  return result;
}
