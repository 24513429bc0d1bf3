/**
 * The order in which a rollout changes the pool, as data. Pure, so the order is tested on its own.
 *
 * New relays first, each synced before the next; then the existing relays one at a time (each only while every other
 * relay serves); then, when hosts join or leave, every node's topology (push-config) — after the new relays are
 * healthy, so producers list only synced relays as local roots, and before a removed relay goes, so no node still
 * dials it; then the removed relays; then the standby producer; a promotion (the old leader fenced first) only when
 * the leader's change takes it down; the old leader; optionally a promotion back; and finally the rest of the nodes
 * stack and the stacks that refer to instance ids (monitoring alarms) settled.
 */

/** What a step does to its host: `online` changes it while it runs (a volume grows), the rest take its node down. */
export type NodeStepEffect = "online" | "stop" | "replace" | "create" | "destroy";

export type RolloutStep =
  | { readonly id: string; readonly kind: "node"; readonly host: string; readonly role: "relay" | "producer"; readonly effect: NodeStepEffect }
  | { readonly id: string; readonly kind: "promote"; readonly to: string }
  | { readonly id: string; readonly kind: "topology"; readonly joining: readonly string[]; readonly leaving: readonly string[] }
  | { readonly id: string; readonly kind: "settle" };

export interface RolloutPlanInput {
  /** The relays that exist now (not those to be created). */
  readonly relays: readonly string[];
  readonly producers: readonly string[];
  /** The producer that forges now (the SSM leader record). */
  readonly leader: string;
  /** Promote the old leader back once it is changed. @default false */
  readonly promoteBack?: boolean;
  /** What happens to each host with a change; hosts not named are left alone. */
  readonly changes: ReadonlyMap<string, NodeStepEffect>;
}

const STEP_VERB: Readonly<Record<NodeStepEffect, string>> = { online: "change", stop: "stop", replace: "replace", create: "create", destroy: "destroy" };
const TAKES_NODE_DOWN: ReadonlySet<NodeStepEffect> = new Set(["stop", "replace", "destroy"]);

export function rolloutSteps(input: RolloutPlanInput): RolloutStep[] {
  if (!input.producers.includes(input.leader)) throw new Error(`the leader ${input.leader} is not one of the producers ${input.producers.join(", ")}`);
  if (input.producers.length !== 2) throw new Error(`a rollout needs the producer pair, found ${input.producers.length} producers`);
  const standby = input.producers.find((p) => p !== input.leader)!;
  const node = (host: string, role: "relay" | "producer", effect: NodeStepEffect): RolloutStep => ({ id: `${STEP_VERB[effect]}:${host}`, kind: "node", host, role, effect });
  const changesOf = (effects: NodeStepEffect[]) => [...input.changes].filter(([, e]) => effects.includes(e)).map(([h]) => h);

  for (const [host, effect] of input.changes) {
    if (input.producers.includes(host) && (effect === "create" || effect === "destroy")) throw new Error(`${host} would be ${effect === "create" ? "created" : "destroyed"}: the producer pair is fixed`);
    if (effect === "create" && input.relays.includes(host)) throw new Error(`${host} is to be created but exists`);
    if (!input.producers.includes(host) && !input.relays.includes(host) && effect !== "create") throw new Error(`${host} is neither a relay nor a producer of the pool`);
  }
  const joining = changesOf(["create"]).sort(byNumber);
  const leaving = changesOf(["destroy"]).sort(byNumber);
  const steps: RolloutStep[] = [
    ...joining.map((h) => node(h, "relay", "create")),
    ...input.relays.filter((r) => input.changes.has(r) && !leaving.includes(r)).map((r) => node(r, "relay", input.changes.get(r)!)),
    ...(joining.length + leaving.length > 0 ? [{ id: "topology", kind: "topology", joining, leaving } as const] : []),
    ...leaving.map((h) => node(h, "relay", "destroy")),
  ];
  const standbyChange = input.changes.get(standby);
  if (standbyChange) steps.push(node(standby, "producer", standbyChange));
  const leaderChange = input.changes.get(input.leader);
  if (leaderChange) {
    const promotes = TAKES_NODE_DOWN.has(leaderChange);
    if (promotes) steps.push({ id: `promote:${standby}`, kind: "promote", to: standby });
    steps.push(node(input.leader, "producer", leaderChange));
    if (promotes && input.promoteBack) steps.push({ id: `promote:${input.leader}`, kind: "promote", to: input.leader });
  }
  steps.push({ id: "settle", kind: "settle" });
  return steps;
}

/** relay-2 before relay-10. */
function byNumber(a: string, b: string): number {
  return a.localeCompare(b, "en", { numeric: true });
}

export function describeStep(step: RolloutStep, image?: string): string {
  switch (step.kind) {
    case "node":
      return describeNodeStep(step.host, step.effect, image);
    case "promote":
      return `promote ${step.to} (the other producer fenced first)`;
    case "topology": {
      const what = [step.joining.length > 0 ? `${step.joining.join(", ")} in` : "", step.leaving.length > 0 ? `${step.leaving.join(", ")} out` : ""].filter(Boolean).join(", ");
      return `every node's topology with ${what} (push-config, rolling and health-gated)`;
    }
    case "settle":
      return "apply the rest of the nodes stack and the stacks that refer to instance ids (monitoring alarms)";
  }
}

function describeNodeStep(host: string, effect: NodeStepEffect, image: string | undefined): string {
  switch (effect) {
    case "replace":
      return `replace ${host}${image ? " with the new image" : ""}, then wait until it is synced with peers`;
    case "stop":
      return `change ${host} in place (stopped and started), then wait until it is synced with peers`;
    case "online":
      return `change ${host} while it runs (volumes grown, filesystems with them), then check its health`;
    case "create":
      return `create ${host}, then wait until it is synced with peers`;
    case "destroy":
      return `destroy ${host} (its chain volume and Elastic IP with it)`;
  }
}
