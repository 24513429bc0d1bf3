/**
 * The order of a golden-image rollout, as data: relays one at a time, then the standby producer, then a promotion
 * (the standby leads, the old leader is fenced first), then the old leader, optionally a promotion back, and finally
 * the stacks that refer to instance ids (monitoring alarms) settled. Pure, so the order is tested on its own.
 */
export type RolloutStep =
  | { readonly id: string; readonly kind: "replace"; readonly host: string; readonly role: "relay" | "producer" }
  | { readonly id: string; readonly kind: "promote"; readonly to: string }
  | { readonly id: string; readonly kind: "settle" };

export interface RolloutPlanInput {
  readonly relays: readonly string[];
  readonly producers: readonly string[];
  /** The producer that forges now (the SSM leader record). */
  readonly leader: string;
  /** Promote the old leader back once it runs the new image. @default false */
  readonly promoteBack?: boolean;
}

export function rolloutSteps(input: RolloutPlanInput): RolloutStep[] {
  if (!input.producers.includes(input.leader)) throw new Error(`the leader ${input.leader} is not one of the producers ${input.producers.join(", ")}`);
  if (input.producers.length !== 2) throw new Error(`a rollout needs the producer pair, found ${input.producers.length} producers`);
  const standby = input.producers.find((p) => p !== input.leader)!;
  const replace = (host: string, role: "relay" | "producer"): RolloutStep => ({ id: `replace:${host}`, kind: "replace", host, role });
  return [
    ...input.relays.map((r) => replace(r, "relay")),
    replace(standby, "producer"),
    { id: `promote:${standby}`, kind: "promote", to: standby },
    replace(input.leader, "producer"),
    ...(input.promoteBack ? [{ id: `promote:${input.leader}`, kind: "promote", to: input.leader } as const] : []),
    { id: "settle", kind: "settle" },
  ];
}

export function describeStep(step: RolloutStep): string {
  switch (step.kind) {
    case "replace":
      return `replace ${step.host} with the new image, then wait until it is synced with peers`;
    case "promote":
      return `promote ${step.to} (the other producer fenced first)`;
    case "settle":
      return "apply the stacks that refer to instance ids (monitoring alarms)";
  }
}
