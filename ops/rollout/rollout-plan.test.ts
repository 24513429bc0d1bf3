import { describe, expect, test } from "vitest";
import { rolloutSteps, type NodeStepEffect } from "./rollout-plan";

const relays = ["relay-1", "relay-2", "relay-3", "relay-4"];
const producers = ["producer-1", "producer-2"];
const every = (effect: NodeStepEffect) => new Map([...relays, ...producers].map((h) => [h, effect]));
const ids = (changes: [string, NodeStepEffect][], leader = "producer-1", promoteBack = false) => rolloutSteps({ relays, producers, leader, promoteBack, changes: new Map(changes) }).map((s) => s.id);

describe("rollout order", () => {
  test("an image: relays one by one, the standby, a promotion, the old leader, settle", () => {
    expect(rolloutSteps({ relays, producers, leader: "producer-2", changes: every("replace") }).map((s) => s.id)).toEqual([
      "replace:relay-1", "replace:relay-2", "replace:relay-3", "replace:relay-4",
      "replace:producer-1", "promote:producer-1", "replace:producer-2", "settle",
    ]);
  });

  test("--promote-back ends with the original leader leading again", () => {
    const steps = rolloutSteps({ relays, producers, leader: "producer-1", promoteBack: true, changes: every("stop") }).map((s) => s.id);
    expect(steps.slice(-4)).toEqual(["promote:producer-2", "stop:producer-1", "promote:producer-1", "settle"]);
  });

  test("the leader is never stopped, replaced or changed before a promotion away from it when its change takes it down", () => {
    for (const leader of producers) {
      for (const effect of ["stop", "replace"] as const) {
        const steps = rolloutSteps({ relays, producers, leader, changes: every(effect) });
        const leaderStep = steps.findIndex((s) => s.kind === "node" && s.host === leader);
        const promoteAway = steps.findIndex((s) => s.kind === "promote" && s.to !== leader);
        expect(promoteAway).toBeGreaterThan(-1);
        expect(promoteAway).toBeLessThan(leaderStep);
      }
    }
  });

  test("only the hosts with a change get a step; a change made while the leader runs needs no promotion", () => {
    expect(ids([["producer-1", "online"], ["relay-2", "online"]])).toEqual(["change:relay-2", "change:producer-1", "settle"]);
    expect(ids([["producer-2", "stop"]])).toEqual(["stop:producer-2", "settle"]);
    expect(ids([])).toEqual(["settle"]);
  });

  test("scale out: new relays synced first, then every topology, then the rest", () => {
    expect(ids([["relay-6", "create"], ["relay-5", "create"], ["producer-1", "stop"]])).toEqual(["create:relay-5", "create:relay-6", "topology", "promote:producer-2", "stop:producer-1", "settle"]);
    const [topology] = rolloutSteps({ relays, producers, leader: "producer-1", changes: new Map([["relay-5", "create"]]) }).filter((s) => s.kind === "topology");
    expect(topology).toMatchObject({ joining: ["relay-5"], leaving: [] });
  });

  test("scale in: every topology without the leaving relays before they are destroyed", () => {
    expect(ids([["relay-4", "destroy"], ["relay-3", "destroy"], ["relay-1", "online"]])).toEqual(["change:relay-1", "topology", "destroy:relay-3", "destroy:relay-4", "settle"]);
  });

  test("a leader that is not a producer, a producer created or destroyed, or an unknown host is refused", () => {
    expect(() => rolloutSteps({ relays, producers, leader: "relay-1", changes: every("replace") })).toThrow(/not one of the producers/);
    expect(() => rolloutSteps({ relays, producers: ["producer-1"], leader: "producer-1", changes: every("replace") })).toThrow(/producer pair/);
    expect(() => ids([["producer-2", "destroy"]])).toThrow(/producer-2 would be destroyed: the producer pair is fixed/);
    expect(() => ids([["relay-9", "stop"]])).toThrow(/relay-9 is neither a relay nor a producer/);
    expect(() => ids([["relay-2", "create"]])).toThrow(/relay-2 is to be created but exists/);
  });
});
