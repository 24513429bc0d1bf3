/**
 * The pool's machines: relays, the producer pair, the bastion and (when enabled) the sandbox; the pool's SSM
 * parameters; and the inventory pool-ops reads.
 */
import { TerraformOutput, Token } from "cdktf";
import type { Construct } from "constructs";
import { poolAddressPlan, type HostPlan } from "../config/address-plan";
import { poolParameterNames, poolSecretNames, type PoolSecretKey } from "../config/names";
import type { PoolConfig } from "../config/schema";
import { renderBootNodeFiles } from "../render/node-files";
import { hostBootUserData } from "./boot/boot-plan";
import type { BootFile } from "./boot/cloud-init";
import { baseImageId } from "./constructs/base-image";
import { Bastion, ProducerPair, RelayFleet, Sandbox, type FleetContext } from "./constructs/fleet";
import { PoolParameters } from "./constructs/pool-parameters";
import type { PoolInstance } from "./constructs/pool-instance";
import type { NetworkStack } from "./network-stack";
import { PoolStack } from "./pool-stack";
import type { SecurityStack } from "./security-stack";

/**
 * The node's boot inputs written at first boot (overlays, per-mode environment files, unit): the same renderer
 * push-config uses. The host composes its config and topology from its installed release on every boot, and a
 * producer's mode comes from the SSM leader record then (the leader guard), never from synth time.
 */
function bootNodeFiles(config: PoolConfig, hosts: readonly HostPlan[], host: HostPlan): BootFile[] {
  if (host.role !== "relay" && host.role !== "producer") return [];
  const nodes = hosts.filter((h) => h.role === "relay" || h.role === "producer");
  return renderBootNodeFiles(config, nodes, host).map((f) => ({
    path: f.path,
    content: f.content,
    mode: `0${f.mode.toString(8)}`,
    owner: `${f.owner}:${f.group}`,
  }));
}

export class NodesStack extends PoolStack {
  readonly relays: RelayFleet;
  readonly producers: ProducerPair;
  readonly bastion: Bastion;
  readonly sandbox?: Sandbox;
  readonly parameters: PoolParameters;

  constructor(scope: Construct, id: string, config: PoolConfig, network: NetworkStack, security: SecurityStack) {
    super(scope, id, { config });
    const plan = poolAddressPlan(config);
    const hostsOf = (role: HostPlan["role"]) => plan.hosts.filter((h) => h.role === role);
    const amiId = baseImageId(this, config);
    this.parameters = new PoolParameters(this, "parameters", { poolName: config.name, baseImageId: amiId });
    const golden = this.parameters.goldenImages;
    const context: FleetContext = {
      poolName: config.name,
      // Nodes start from their role's golden image (the base image until one is baked); the rest from the base.
      amiId: (role) => (role === "relay" || role === "producer" ? golden[role].insecureValue : amiId),
      kmsKeyArn: security.key.keyArn,
      rootVolumeGiB: config.rootVolumeGiB,
      subnetId: (planId) => network.vpc.subnetId(planId),
      securityGroupId: (tier) => network.securityGroups.securityGroupId(tier),
      instanceProfileName: (tier) => security.roles.profiles[tier].name,
      userData: (host, volumeId) => hostBootUserData(config, host, volumeId, bootNodeFiles(config, plan.hosts, host)),
    };

    this.relays = new RelayFleet(this, "relays", {
      context,
      hosts: hostsOf("relay"),
      instanceType: config.relays.instanceType,
      chainDbVolumeGiB: config.relays.chainDbVolumeGiB,
    });
    this.producers = new ProducerPair(this, "producers", {
      context,
      hosts: hostsOf("producer"),
      instanceType: config.producers.instanceType,
      chainDbVolumeGiB: config.producers.chainDbVolumeGiB,
    });
    this.bastion = new Bastion(this, "bastion", { context, hosts: hostsOf("bastion"), instanceType: config.bastion.instanceType });
    if (config.sandbox.enabled) {
      this.sandbox = new Sandbox(this, "sandbox", {
        context,
        hosts: hostsOf("sandbox"),
        instanceType: config.sandbox.instanceType,
        chainDbVolumeGiB: config.sandbox.chainDbVolumeGiB,
      });
    }

    // The inventory pool-ops reads (`terraform output -json` / `cdktf output --outputs-file`).
    const entry = (host: HostPlan, node: PoolInstance) => ({
      name: host.name,
      role: host.role,
      privateIp: host.privateIp,
      publicIp: node.publicIp ?? "",
      instanceId: node.instance.id,
      availabilityZone: host.availabilityZone,
    });
    const nodes: [HostPlan, PoolInstance][] = [
      ...hostsOf("relay").map((h, i) => [h, this.relays.relays[i]!] as [HostPlan, PoolInstance]),
      ...hostsOf("producer").map((h, i) => [h, this.producers.producers[i]!] as [HostPlan, PoolInstance]),
      ...(this.sandbox ? hostsOf("sandbox").map((h) => [h, this.sandbox!.host] as [HostPlan, PoolInstance]) : []),
    ];
    // Every relay subnet, used by a relay yet or not. cdktf exports from the network stack only the values another stack
    // references (an output per reference, read through terraform_remote_state): without this, a relays.count that
    // puts the first relay into a zone no relay used (2 → 3) would reference an output the deployed network stack does
    // not have, and the nodes stack could not even be planned before the network stack was deployed again.
    new TerraformOutput(this, "relay-subnets", {
      description: "The relay subnets by plan id (relay-a, relay-b, relay-c): relays go round-robin over them",
      value: Token.asAny(Object.fromEntries(plan.subnets.filter((s) => s.tier === "relay").map((s) => [s.id, network.vpc.subnetId(s.id)]))),
    });

    const secretNames = poolSecretNames(config.name);
    new TerraformOutput(this, "inventory", {
      description: "pool-ops inventory: hosts, secrets and parameters of the pool",
      // A token, not a plain object: cdktf 0.21's TerraformOutput checks plain values with util.isArray, deprecated
      // (DEP0044, printed) since Node 22. The token resolves to the same JSON.
      value: Token.asAny({
        pool: config.name,
        network: config.network,
        region: config.region,
        bastion: entry(hostsOf("bastion")[0]!, this.bastion.host),
        hosts: nodes.map(([host, node]) => entry(host, node)),
        secrets: Object.fromEntries((Object.keys(secretNames) as PoolSecretKey[]).map((key) => [key, security.secrets.secrets[key].arn])),
        parameters: { leader: poolParameterNames(config.name).leader },
      }),
    });
  }
}
