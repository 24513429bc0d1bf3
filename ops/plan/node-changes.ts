/**
 * What a plan of the nodes stack will do to each host: nothing, a change made while it runs, a stop and start in
 * place, a replacement, a new host or a removed one. Pure: it reads the JSON plan (plan-json.ts) and the resource
 * addresses, which cdktf derives from the construct path (stacks/constructs/fleet.ts: `relays/relay-1/instance` →
 * `aws_instance.relays_relay-1_instance_<hash>`).
 *
 * What stops an instance is the AWS provider's (hashicorp/terraform-provider-aws, internal/service/ec2/
 * ec2_instance.go, resourceInstanceUpdate): `instance_type`, `user_data` and `user_data_base64` go through
 * modifyInstanceAttributeWithStopStart; a root volume change is an online ModifyVolume; tags, security groups,
 * the instance profile, metadata and maintenance options change on a running instance. A chain volume's size is an
 * online ModifyVolume (ebs_volume.go, resourceEBSVolumeUpdate); replacing its attachment detaches it, which with
 * `stop_instance_before_detaching` (volume_attachment.go, resourceVolumeAttachmentDelete) stops the instance.
 */
import { isReplace, type ResourceChange, type TerraformPlanJson } from "./plan-json";

/** Ordered from harmless to drastic; a host's effect is the strongest of its resources'. */
export const NODE_EFFECTS = ["none", "online", "stop", "replace"] as const;
export type InPlaceEffect = (typeof NODE_EFFECTS)[number];
/** `create` and `destroy`: the host itself is added or removed (a changed relay count). */
export type NodeEffect = InPlaceEffect | "create" | "destroy";

export type PlannedRole = "relay" | "producer" | "bastion" | "sandbox";

export interface HostChange {
  readonly host: string;
  readonly role: PlannedRole;
  readonly effect: NodeEffect;
  /** One line per reason, e.g. "instance type m6i.large → m6i.xlarge (stopped, changed, started)". */
  readonly reasons: readonly string[];
  /** The host's resources with a change, for `-target`. */
  readonly addresses: readonly string[];
  /** Volumes that grow (online): the filesystem must grow after the apply. */
  readonly grows: readonly ("root" | "chain")[];
}

export interface NodesPlan {
  /** Every host with a resource in the plan (unchanged ones with effect "none"): relays, producers, bastion, sandbox. */
  readonly hosts: readonly HostChange[];
  /** Changes to resources of no host (the pool's parameters, say). */
  readonly others: readonly { readonly address: string; readonly actions: readonly string[] }[];
}

type HostPart = "instance" | "chain-db" | "chain-db-attachment" | "eip";

/** `aws_instance.relays_relay-1_instance_8AFC7103` → relay-1, instance. The bastion's path repeats its name once. */
const HOST_RESOURCE = /^aws_(?:instance|ebs_volume|volume_attachment|eip)\.(?:relays_|producers_)?(relay-\d+|producer-\d+|bastion|sandbox)_(instance|chain-db-attachment|chain-db|eip)_[0-9A-F]{8}$/;

export function hostOfAddress(address: string): { host: string; part: HostPart } | undefined {
  const match = HOST_RESOURCE.exec(address);
  return match ? { host: match[1]!, part: match[2] as HostPart } : undefined;
}

export function roleOfHost(host: string): PlannedRole {
  if (host.startsWith("relay-")) return "relay";
  if (host.startsWith("producer-")) return "producer";
  return host as PlannedRole;
}

type Values = Record<string, unknown>;
const values = (v: unknown): Values => (v && typeof v === "object" ? (v as Values) : {});
const rootSize = (v: Values): unknown => values((v.root_block_device as unknown[] | undefined)?.[0]).volume_size;
const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

interface ResourceEffect {
  readonly effect: NodeEffect;
  readonly reasons: string[];
  readonly grows: ("root" | "chain")[];
}

/** Attributes the provider changes on a running instance; any other updated attribute is named as such. */
const STOPPING_INSTANCE_ATTRIBUTES = ["instance_type", "user_data", "user_data_base64"];

function instanceEffect(change: ResourceChange): ResourceEffect {
  const before = values(change.change.before);
  const after = values(change.change.after);
  const reasons: string[] = [];
  const grows: ("root" | "chain")[] = [];
  let effect: InPlaceEffect = "online";
  for (const attribute of STOPPING_INSTANCE_ATTRIBUTES) {
    if (attribute in after && !same(before[attribute], after[attribute])) {
      effect = "stop";
      reasons.push(attribute === "instance_type" ? `instance type ${String(before.instance_type)} → ${String(after.instance_type)} (stopped, changed, started)` : `${attribute} (stopped, changed, started)`);
    }
  }
  const [rootBefore, rootAfter] = [rootSize(before), rootSize(after)];
  if (rootAfter !== undefined && !same(rootBefore, rootAfter)) {
    reasons.push(`root volume ${String(rootBefore)} → ${String(rootAfter)} GiB (online; its filesystem is grown after)`);
    grows.push("root");
  }
  const others = Object.keys(after).filter((k) => !STOPPING_INSTANCE_ATTRIBUTES.includes(k) && k !== "root_block_device" && !same(before[k], after[k]) && after[k] !== undefined);
  if (others.length > 0) reasons.push(`${others.join(", ")} (changed while it runs)`);
  return { effect, reasons, grows };
}

function resourceEffect(part: HostPart, change: ResourceChange): ResourceEffect {
  const { actions } = change.change;
  const what = { instance: "instance", "chain-db": "chain volume", "chain-db-attachment": "chain volume attachment", eip: "Elastic IP" }[part];
  const forcedBy = (change.change.replace_paths ?? []).map((p) => p.join(".")).join(", ");
  const because = change.action_reason === "replace_by_request" ? " (-replace)" : forcedBy ? ` (forced by ${forcedBy})` : "";
  if (isReplace(actions)) {
    if (part === "instance") return { effect: "replace", reasons: [`instance replaced${because}`], grows: [] };
    if (part === "chain-db") return { effect: "stop", reasons: [`chain volume replaced${because}: a new, empty volume; the chain database is lost and the node syncs again`], grows: [] };
    // Detaching first stops the instance (stop_instance_before_detaching).
    if (part === "chain-db-attachment") return { effect: "stop", reasons: [`chain volume re-attached${because} (the instance is stopped to detach it)`], grows: [] };
    return { effect: "online", reasons: [`${what} replaced${because}`], grows: [] };
  }
  if (actions.includes("create")) return { effect: part === "instance" ? "create" : "online", reasons: [`${what} created`], grows: [] };
  if (actions.includes("delete")) return { effect: part === "instance" ? "destroy" : "online", reasons: [`${what} destroyed`], grows: [] };
  if (!actions.includes("update")) return { effect: "none", reasons: [], grows: [] };
  if (part === "instance") return instanceEffect(change);
  if (part === "chain-db") {
    const [b, a] = [values(change.change.before).size, values(change.change.after).size];
    if (!same(a, b)) return { effect: "online", reasons: [`chain volume ${String(b)} → ${String(a)} GiB (online; its filesystem is grown after)`], grows: ["chain"] };
  }
  return { effect: "online", reasons: [`${what} updated (while it runs)`], grows: [] };
}

const strength = (e: NodeEffect) => (e === "create" || e === "destroy" ? NODE_EFFECTS.length : NODE_EFFECTS.indexOf(e));

/** Per host, what the plan does; resources of no host are listed apart. */
export function nodesPlan(plan: TerraformPlanJson): NodesPlan {
  const hosts = new Map<string, { effect: NodeEffect; reasons: string[]; addresses: string[]; grows: Set<"root" | "chain"> }>();
  const others: { address: string; actions: string[] }[] = [];
  for (const change of plan.resource_changes) {
    if (change.mode !== "managed") continue;
    const owner = hostOfAddress(change.address);
    const changed = !change.change.actions.every((a) => a === "no-op" || a === "read");
    if (!owner) {
      if (changed) others.push({ address: change.address, actions: change.change.actions });
      continue;
    }
    const entry = hosts.get(owner.host) ?? { effect: "none" as NodeEffect, reasons: [], addresses: [], grows: new Set() };
    hosts.set(owner.host, entry);
    if (!changed) continue;
    const effect = resourceEffect(owner.part, change);
    entry.addresses.push(change.address);
    entry.reasons.push(...effect.reasons);
    for (const g of effect.grows) entry.grows.add(g);
    // The instance's own create/destroy says what happens to the host; otherwise the strongest effect wins.
    if (effect.effect === "create" || effect.effect === "destroy") entry.effect = effect.effect;
    else if (entry.effect !== "create" && entry.effect !== "destroy" && strength(effect.effect) > strength(entry.effect)) entry.effect = effect.effect;
  }
  return {
    hosts: [...hosts]
      .map(([host, e]) => ({ host, role: roleOfHost(host), effect: e.effect, reasons: e.reasons, addresses: e.addresses, grows: [...e.grows] }))
      .sort(byRoleThenNumber),
    others,
  };
}

const ROLE_ORDER: readonly PlannedRole[] = ["relay", "producer", "bastion", "sandbox"];

/** relay-1 … relay-10, producer-1, producer-2, bastion, sandbox: the order the inventory lists them. */
function byRoleThenNumber(a: HostChange, b: HostChange): number {
  return ROLE_ORDER.indexOf(a.role) - ROLE_ORDER.indexOf(b.role) || a.host.localeCompare(b.host, "en", { numeric: true });
}

/** Hosts whose change takes their node down (stop, replacement or removal): what `pool-ops rollout` is for. */
export function stoppingNodes(plan: NodesPlan): HostChange[] {
  return plan.hosts.filter((h) => (h.role === "relay" || h.role === "producer") && (h.effect === "stop" || h.effect === "replace" || h.effect === "destroy"));
}

export const EFFECT_WORDS: Readonly<Record<NodeEffect, string>> = {
  none: "nothing",
  online: "in place, while it runs",
  stop: "in place, with a stop",
  replace: "replaced",
  create: "created",
  destroy: "destroyed",
};
