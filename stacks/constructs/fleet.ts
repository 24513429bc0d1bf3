/**
 * The pool's hosts, one construct per concept: RelayFleet (relays with Elastic IPs, spread over the relay subnets),
 * ProducerPair (primary and standby in their private subnets, no public address), Bastion (the only SSH entry, with
 * an Elastic IP) and Sandbox (the golden-image workbench, only while enabled). They share the placement context.
 */
import { Construct } from "constructs";
import type { HostPlan } from "../../config/address-plan";
import { PoolInstance } from "./pool-instance";
import type { SecurityTier } from "./tier-security-groups";

/** What every host needs from the network and security stacks, as typed accessors. */
export interface FleetContext {
  readonly poolName: string;
  /** The image a host of this role starts from (relays and producers: the golden image recorded in SSM). */
  amiId(role: HostPlan["role"]): string;
  readonly kmsKeyArn: string;
  readonly rootVolumeGiB: number;
  subnetId(planId: string): string;
  securityGroupId(tier: SecurityTier): string;
  instanceProfileName(tier: SecurityTier): string;
  userData(host: HostPlan, chainVolumeId: string | undefined): string;
}

export interface HostGroupProps {
  readonly context: FleetContext;
  readonly hosts: readonly HostPlan[];
  readonly instanceType: string;
  /** @default no chain volume */
  readonly chainDbVolumeGiB?: number;
}

function hostInstance(
  scope: Construct,
  host: HostPlan,
  props: HostGroupProps,
  options: { tier: SecurityTier; elasticIp: boolean; terminationProtection?: boolean; automaticRecovery?: boolean },
): PoolInstance {
  const { context } = props;
  return new PoolInstance(scope, host.name, {
    poolName: context.poolName,
    hostName: host.name,
    role: host.role,
    subnetId: context.subnetId(host.subnetId),
    availabilityZone: host.availabilityZone,
    privateIp: host.privateIp,
    securityGroupIds: [context.securityGroupId(options.tier)],
    instanceProfileName: context.instanceProfileName(options.tier),
    instanceType: props.instanceType,
    amiId: context.amiId(host.role),
    kmsKeyArn: context.kmsKeyArn,
    rootVolumeGiB: context.rootVolumeGiB,
    ...(props.chainDbVolumeGiB !== undefined ? { chainDbVolumeGiB: props.chainDbVolumeGiB } : {}),
    userData: (volumeId) => context.userData(host, volumeId),
    elasticIp: options.elasticIp,
    terminationProtection: options.terminationProtection ?? false,
    automaticRecovery: options.automaticRecovery ?? true,
  });
}

export class RelayFleet extends Construct {
  readonly relays: PoolInstance[];
  constructor(scope: Construct, id: string, props: HostGroupProps) {
    super(scope, id);
    this.relays = props.hosts.map((host) => hostInstance(this, host, props, { tier: "relay", elasticIp: true }));
  }
}

export class ProducerPair extends Construct {
  readonly producers: PoolInstance[];
  constructor(scope: Construct, id: string, props: HostGroupProps) {
    super(scope, id);
    if (props.hosts.length !== 2) throw new Error(`ProducerPair needs exactly two producers, got ${props.hosts.length}`);
    // No public address of any kind; termination protection so a mistaken destroy cannot remove a producer; no
    // automatic recovery, so a producer AWS restarts elsewhere never comes back forging beside its promoted standby.
    this.producers = props.hosts.map((host) =>
      hostInstance(this, host, props, { tier: "producer", elasticIp: false, terminationProtection: true, automaticRecovery: false }),
    );
  }
}

export class Bastion extends Construct {
  readonly host: PoolInstance;
  constructor(scope: Construct, id: string, props: HostGroupProps) {
    super(scope, id);
    const [host] = props.hosts;
    if (!host || props.hosts.length !== 1) throw new Error("Bastion needs exactly one host");
    this.host = hostInstance(this, host, props, { tier: "bastion", elasticIp: true });
  }
}

export class Sandbox extends Construct {
  readonly host: PoolInstance;
  constructor(scope: Construct, id: string, props: HostGroupProps) {
    super(scope, id);
    const [host] = props.hosts;
    if (!host || props.hosts.length !== 1) throw new Error("Sandbox needs exactly one host");
    // A public address lets it download node releases while an image is baked; it holds no keys, ever.
    this.host = hostInstance(this, host, props, { tier: "sandbox", elasticIp: true });
  }
}
