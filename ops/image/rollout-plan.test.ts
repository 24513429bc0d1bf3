import { describe, expect, test } from "vitest";
import { rolloutSteps } from "./rollout-plan";

const relays = ["relay-1", "relay-2", "relay-3", "relay-4"];
const producers = ["producer-1", "producer-2"];

describe("rollout order", () => {
  test("relays one by one, the standby, a promotion, the old leader, settle", () => {
    expect(rolloutSteps({ relays, producers, leader: "producer-2" }).map((s) => s.id)).toEqual([
      "replace:relay-1", "replace:relay-2", "replace:relay-3", "replace:relay-4",
      "replace:producer-1", "promote:producer-1", "replace:producer-2", "settle",
    ]);
  });

  test("--promote-back ends with the original leader leading again", () => {
    const ids = rolloutSteps({ relays, producers, leader: "producer-1", promoteBack: true }).map((s) => s.id);
    expect(ids.slice(-4)).toEqual(["promote:producer-2", "replace:producer-1", "promote:producer-1", "settle"]);
  });

  test("the leader is never replaced before a promotion away from it", () => {
    for (const leader of producers) {
      const steps = rolloutSteps({ relays, producers, leader });
      const replaceLeader = steps.findIndex((s) => s.kind === "replace" && s.host === leader);
      const promoteAway = steps.findIndex((s) => s.kind === "promote" && s.to !== leader);
      expect(promoteAway).toBeGreaterThan(-1);
      expect(promoteAway).toBeLessThan(replaceLeader);
    }
  });

  test("a leader that is not a producer, or not a pair, is refused", () => {
    expect(() => rolloutSteps({ relays, producers, leader: "relay-1" })).toThrow(/not one of the producers/);
    expect(() => rolloutSteps({ relays, producers: ["producer-1"], leader: "producer-1" })).toThrow(/producer pair/);
  });
});
