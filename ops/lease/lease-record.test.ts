/** The lease item and its wording: what another machine wrote is checked, what an operator reads names who and until when. */
import { describe, expect, it } from "vitest";
import { StepControl } from "../pool/step-control";
import { describeLease, leaseFacts } from "./describe-lease";
import { LeaseLost } from "./lease-errors";
import { fromItem, LeaseItemError, toItem, type LeaseRecord } from "./lease-record";
import { describeState, stateAt, stateFacts } from "./read";

const record: LeaseRecord = {
  holder: { user: "alice", host: "laptop", pid: 4242 },
  command: "rotate-kes",
  startedAt: "2025-12-01T23:00:03.120Z",
  expiresAt: Date.parse("2025-12-01T23:02:03Z") / 1000,
  token: "f".repeat(32),
};

describe("the lease item", () => {
  it("round-trips through its DynamoDB attributes", () => {
    expect(fromItem(JSON.parse(JSON.stringify(toItem(record))) as Record<string, unknown>, "t")).toEqual(record);
  });

  it("a malformed item is refused naming the table, the wrong attributes and the remedy", () => {
    const { token: _token, ...noToken } = toItem(record);
    expect(() => fromItem({ ...noToken, expiresAt: { S: "soon" } }, "sandstone-pool-ops-lease")).toThrow(LeaseItemError);
    expect(() => fromItem({ ...noToken, expiresAt: { S: "soon" } }, "sandstone-pool-ops-lease")).toThrow(
      /^the lease item in sandstone-pool-ops-lease is malformed \(expiresAt\.N: .*; token: .*\): remove it with pool-ops lock break$/,
    );
  });

  it("is told as who, which command, since when and how long it has left — or since when it lapsed", () => {
    const before = Date.parse("2025-12-01T23:00:40Z");
    expect(describeLease(record, before)).toBe("held by alice@laptop pid 4242 running rotate-kes since 2025-12-01 23:00:03 UTC, expires in 83 s unless renewed");
    const after = Date.parse("2025-12-01T23:02:10Z");
    expect(describeLease(record, after)).toBe("held by alice@laptop pid 4242 running rotate-kes since 2025-12-01 23:00:03 UTC, expired 7 s ago");
    expect(describeState(stateAt({ state: "held", record }, after), after)).toMatch(/^free \(the last lease, held by alice@laptop/);
    expect(describeState({ state: "free" }, after)).toBe("free");
  });

  it("as data it never carries the token", () => {
    const facts = stateFacts({ state: "held", record }, Date.parse("2025-12-01T23:00:40Z"));
    expect(facts).toEqual({ state: "held", ...leaseFacts(record, Date.parse("2025-12-01T23:00:40Z")) });
    expect(facts).toMatchObject({ expiresAt: "2025-12-01T23:02:03.000Z", expiresInSeconds: 83 });
    expect(JSON.stringify(facts)).not.toContain(record.token);
  });
});

describe("StepControl with the pool's lease", () => {
  it("every checkpoint checks the lease: once it is lost, the next step does not start", async () => {
    let lost = false;
    const control = new StepControl({
      assertHeld: () => {
        if (lost) throw new LeaseLost("the pool's lease was taken over");
      },
      signal: new AbortController().signal,
    });
    await expect(control.checkpoint("push-producer-1")).resolves.toBeUndefined();
    lost = true;
    await expect(control.checkpoint("push-producer-2")).rejects.toThrow(LeaseLost);
    await expect(control.checkpoint("push-producer-2")).rejects.toMatchObject({ step: "hold the pool's lease", remedy: expect.stringMatching(/nothing more was changed/) });
  });
});
