/**
 * The pool-wide lease against DynamoDB's real condition semantics (the moto emulator), on a table made from the
 * synthesised security stack (its key, TTL and deletion protection): takers racing on a free and on an expired lease,
 * renewal, losing it to a take-over, release by a non-holder, `--wait`, and breaking it.
 */
import { DynamoDBClient, PutItemCommand } from "@aws-sdk/client-dynamodb";
import { Testing } from "cdktf";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { poolLeaseTable } from "../../config/names";
import { emulatorAvailable, startAwsEmulator, type AwsEmulator } from "../../lab/aws-emulator";
import { createDynamodbTables, type TerraformJson } from "../../lab/deploy/fast-deploy";
import { buildPoolStacks } from "../../stacks/pool-app";
import { testApp, testPool } from "../../test/pool-fixtures";
import { requireTool } from "../../test/support";
import { awsClientSettings } from "../aws/client-config";
import { breakLease } from "./break";
import { HeldLease } from "./held-lease";
import { LeaseHeldError, LeaseLost } from "./lease-errors";
import { epochSeconds, type LeaseHolder } from "./lease-record";
import { LeaseTable } from "./lease-table";
import { DEFAULT_LEASE_TIMING, SYSTEM_CLOCK, type LeaseClock } from "./lease-timing";
import { readLease, stateAt } from "./read";
import { takeLease } from "./take";
import { withLease } from "./with-lease";

const config = testPool();
const POOL = config.name;
const available = requireTool(emulatorAvailable(), "moto (the AWS emulator) is not installed for python3, so the lease cannot be tested on DynamoDB");

const alice: LeaseHolder = { user: "alice", host: "laptop", pid: 4242 };
const bob: LeaseHolder = { user: "bob", host: "desk", pid: 777 };
const carol: LeaseHolder = { user: "carol", host: "jump", pid: 31 };

/** A clock that moves only when told (no sleeping in tests): `sleep` advances it. */
function manualClock(startMs = Date.now()): LeaseClock & { advance(ms: number): void } {
  let now = startMs;
  return {
    now: () => now,
    sleep: async (ms) => {
      now += ms;
      await Promise.resolve();
    },
    advance: (ms) => {
      now += ms;
    },
  };
}

describe.skipIf(!available)("the pool-wide lease on DynamoDB (moto)", () => {
  let emulator: AwsEmulator;
  const tables: LeaseTable[] = [];
  /** A table client of its own, as on another operator's machine. */
  const machine = () => {
    const table = new LeaseTable({ region: config.region, endpoint: emulator.endpoint }, POOL);
    tables.push(table);
    return table;
  };

  beforeAll(async () => {
    emulator = await startAwsEmulator();
    const security = JSON.parse(Testing.synth(buildPoolStacks(testApp(), config).security)) as TerraformJson;
    expect(await createDynamodbTables(awsClientSettings({ region: config.region, endpoint: emulator.endpoint }), security)).toEqual([poolLeaseTable(POOL).name]);
  }, 60_000);

  afterEach(async () => {
    // Each test starts from a free lease.
    await machine().deleteAny();
  });

  afterAll(async () => {
    for (const t of tables) t.close();
    await emulator?.stop();
  });

  it("two takers at once: exactly one wins, and the other's refusal names the holder, its command and expiry", async () => {
    const outcomes = await Promise.allSettled([
      takeLease(machine(), { command: "rotate-kes", holder: alice }),
      takeLease(machine(), { command: "promote", holder: bob }),
    ]);
    const won = outcomes.filter((o) => o.status === "fulfilled");
    const lost = outcomes.filter((o): o is PromiseRejectedResult => o.status === "rejected");
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(1);
    const winner = (won[0] as PromiseFulfilledResult<{ holder: LeaseHolder; command: string }>).value;
    const error = lost[0]!.reason as LeaseHeldError;
    expect(error).toBeInstanceOf(LeaseHeldError);
    const who = winner.holder.user === "alice" ? /held by alice@laptop pid 4242 running rotate-kes since \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC, expires in 1[12]\d s/ : /held by bob@desk pid 777 running promote since/;
    expect(error.message).toMatch(who);
    expect(error.message).toMatch(/nothing was changed/);
    expect(error.remedy).toMatch(/--wait SECONDS.*pool-ops lock break/);
    expect((await machine().read())?.holder).toEqual(winner.holder);
  });

  it("an expired lease is taken over atomically: of two takers racing for it, one wins", async () => {
    const past = manualClock(Date.now() - 10 * 60_000);
    const stale = await takeLease(machine(), { command: "rotate-kes", holder: carol, clock: past });
    expect(stale.expiresAt).toBeLessThan(epochSeconds(Date.now()));
    const outcomes = await Promise.allSettled([takeLease(machine(), { command: "push-config", holder: alice }), takeLease(machine(), { command: "image bake", holder: bob })]);
    expect(outcomes.filter((o) => o.status === "fulfilled")).toHaveLength(1);
    const refusal = (outcomes.find((o) => o.status === "rejected") as PromiseRejectedResult).reason as LeaseHeldError;
    const now = await machine().read();
    expect(now?.token).not.toBe(stale.token);
    expect(refusal.message).toContain(`held by ${now!.holder.user}@`);
    expect(refusal.message).not.toContain("carol");
  });

  it("renewal keeps the lease: past its first expiry it is still the holder's, and takers are refused", async () => {
    const clock = manualClock();
    const table = machine();
    const held = new HeldLease(table, await takeLease(table, { command: "rotate-kes", holder: alice, clock }), DEFAULT_LEASE_TIMING, clock);
    const firstExpiry = held.record.expiresAt;
    clock.advance(100_000);
    await held.renew();
    expect((await table.read())?.expiresAt).toBe(firstExpiry + 100);
    clock.advance(30_000); // past the first expiry, within the renewed one
    expect(() => held.assertHeld()).not.toThrow();
    await expect(takeLease(machine(), { command: "promote", holder: bob, clock })).rejects.toThrow(/held by alice@laptop pid 4242 running rotate-kes/);
    expect(await held.release()).toBe(true);
    expect(await table.read()).toBeUndefined();
  });

  it("the renewal loop runs by itself while the command runs", async () => {
    const table = machine();
    const timing = { ...DEFAULT_LEASE_TIMING, renewEveryMs: 100 };
    const record = await takeLease(table, { command: "image rollout", holder: alice, timing: { ...timing, ttlSeconds: 60 } });
    const held = new HeldLease(table, record, timing, SYSTEM_CLOCK).start();
    try {
      // Renewals write now + 120 s: poll until one has moved the expiry past the take's now + 60 s.
      const deadline = Date.now() + 10_000;
      let expiresAt = record.expiresAt;
      while (expiresAt <= record.expiresAt && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50));
        expiresAt = (await table.read())?.expiresAt ?? 0;
      }
      expect(expiresAt).toBeGreaterThan(record.expiresAt);
    } finally {
      await held.release();
    }
  });

  it("after a take-over, renewal fails: assertHeld throws naming the new holder, the signal aborts, release leaves the new lease", async () => {
    const past = manualClock(Date.now() - 10 * 60_000);
    const oldTable = machine();
    const old = new HeldLease(oldTable, await takeLease(oldTable, { command: "rotate-kes", holder: carol, clock: past }), DEFAULT_LEASE_TIMING, SYSTEM_CLOCK);
    const taker = await takeLease(machine(), { command: "promote", holder: bob });
    await old.renew();
    expect(() => old.assertHeld()).toThrow(LeaseLost);
    expect(() => old.assertHeld()).toThrow(/taken over: it is now held by bob@desk pid 777 running promote/);
    expect(old.signal.aborted).toBe(true);
    expect(await old.release()).toBe(false);
    expect((await machine().read())?.token).toBe(taker.token);
  });

  it("a release by a non-holder does nothing", async () => {
    const held = await takeLease(machine(), { command: "push-config", holder: alice });
    expect(await machine().deleteIfHeldBy("0".repeat(32))).toBe(false);
    expect((await machine().read())?.token).toBe(held.token);
  });

  it("renewals that keep failing: assertHeld refuses before the lease lapses; a later renewal proves it still ours", async () => {
    const clock = manualClock();
    const table = machine();
    const held = new HeldLease(table, await takeLease(table, { command: "rotate-kes", holder: alice, clock }), DEFAULT_LEASE_TIMING, clock);
    clock.advance((DEFAULT_LEASE_TIMING.ttlSeconds * 1000) - DEFAULT_LEASE_TIMING.heldMarginMs + 1000); // no renewal reached AWS
    expect(() => held.assertHeld()).toThrow(/could not be renewed: it lapses at \d\d:\d\d:\d\d UTC, after which another operator may take it/);
    await held.renew();
    expect(() => held.assertHeld()).not.toThrow();
    await held.release();
  });

  it("--wait: waits while the lease is held, takes it once released; gives up at its deadline saying so", async () => {
    const aliceTable = machine();
    const first = new HeldLease(aliceTable, await takeLease(aliceTable, { command: "rotate-kes", holder: alice }));
    let told = "";
    const waiting = takeLease(machine(), {
      command: "promote",
      holder: bob,
      waitSeconds: 30,
      timing: { ...DEFAULT_LEASE_TIMING, pollMs: 100 },
      onWait: (current) => {
        told = `${current.holder.user} ${current.command}`;
        void first.release();
      },
    });
    const taken = await waiting;
    expect(told).toBe("alice rotate-kes");
    expect(taken.holder).toEqual(bob);
    expect((await machine().read())?.token).toBe(taken.token);

    const clock = manualClock();
    await expect(takeLease(machine(), { command: "image bake", holder: carol, waitSeconds: 5, clock })).rejects.toThrow(
      /is still held by bob@desk pid 777 running promote since .* after waiting 5 s/,
    );
  });

  it("lock break removes the lease it was shown, and only that one", async () => {
    await takeLease(machine(), { command: "rotate-kes", holder: alice });
    const shown = stateAt(await readLease(machine()), Date.now());
    expect(shown.state).toBe("held");
    expect(await breakLease(machine(), shown)).toBe("broken");
    expect((await readLease(machine())).state).toBe("free");
    // A lease taken after the operator looked is not the one shown: it stays.
    await takeLease(machine(), { command: "promote", holder: bob });
    expect(await breakLease(machine(), shown)).toBe("changed");
    expect((await machine().read())?.holder).toEqual(bob);
  });

  it("a malformed lease item blocks takers with a remedy; lock break removes it", async () => {
    const client = new DynamoDBClient(awsClientSettings({ region: config.region, endpoint: emulator.endpoint }));
    // Unexpired but without a holder or token (a hand edit, say). (An expiresAt of another type would make DynamoDB's
    // comparison false; moto answers it with a 500 instead, so the test keeps to a number.)
    const expiresAt = { N: String(epochSeconds(Date.now()) + 3600) };
    await client.send(new PutItemCommand({ TableName: poolLeaseTable(POOL).name, Item: { pk: { S: "lease" }, expiresAt } }));
    client.destroy();
    await expect(takeLease(machine(), { command: "rotate-kes", holder: alice })).rejects.toThrow(/lease item .* is malformed .*: remove it with pool-ops lock break/);
    const shown = await readLease(machine());
    expect(shown.state).toBe("malformed");
    expect(await breakLease(machine(), shown)).toBe("broken");
    expect((await readLease(machine())).state).toBe("free");
  });

  it("withLease: the command runs holding it, and it is released afterwards, even when the command fails; a dry run takes none", async () => {
    const warnings: string[] = [];
    const settings = { target: { region: config.region, endpoint: emulator.endpoint }, pool: POOL, command: "push-config", warn: (t: string) => warnings.push(t) };
    const seen = await withLease(settings, async (lease) => {
      lease.assertHeld();
      return (await machine().read())?.command;
    });
    expect(seen).toBe("push-config");
    expect(await machine().read()).toBeUndefined();
    await expect(withLease(settings, async () => {
      throw new Error("a step failed");
    })).rejects.toThrow("a step failed");
    expect(await machine().read()).toBeUndefined();
    // A dry run never reaches the table: an endpoint where nothing listens would fail the take.
    const nowhere = { ...settings, target: { region: config.region, endpoint: "http://127.0.0.1:9" }, dryRun: true };
    expect(await withLease(nowhere, async (lease) => (lease.assertHeld(), "ran"))).toBe("ran");
    expect(warnings).toEqual([]);
  });
});
