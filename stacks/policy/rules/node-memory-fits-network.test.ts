/** NODE-MEMORY-FITS-NETWORK both ways, through the full synth (validations run), as `cdktf synth` would. */
import { describe, expect, test } from "vitest";
import { synthFailure, testPool } from "../../../test/pool-fixtures";
import { buildPoolStacks } from "../../pool-app";
import { INSTANCE_MEMORY_GIB } from "./node-memory-fits-network";

describe("NODE-MEMORY-FITS-NETWORK", () => {
  test("a mainnet pool with relays on m6i.large (8 GiB) fails synth naming the rule", () => {
    const failure = synthFailure((app) => buildPoolStacks(app, testPool({ network: "mainnet", relays: { instanceType: "m6i.large" } })));
    expect(failure).toMatch(/NODE-MEMORY-FITS-NETWORK violated by aws_instance\.[^:]*relay-1/);
    expect(failure).toMatch(/m6i\.large has 8 GiB; a mainnet relay with the in-memory ledger needs >= 24 GiB/);
    // The producers keep the mainnet default: only the relays are named.
    expect(failure).not.toMatch(/producer-1[^\n]*NODE-MEMORY/);
  }, 30_000);

  test("the mainnet defaults pass; so do small testnet nodes and a mainnet node on the on-disk ledger", () => {
    expect(synthFailure((app) => buildPoolStacks(app, testPool({ network: "mainnet" })))).toBeUndefined();
    expect(synthFailure((app) => buildPoolStacks(app, testPool({ network: "preview" })))).toBeUndefined();
    expect(synthFailure((app) => buildPoolStacks(app, testPool({ network: "mainnet", relays: { instanceType: "m6i.large" }, node: { ledgerBackend: "V2LSM" } })))).toBeUndefined();
  }, 60_000);

  test("an instance type the rule does not know is a violation on mainnet", () => {
    const failure = synthFailure((app) => buildPoolStacks(app, testPool({ network: "mainnet", producers: { instanceType: "x2iedn.xlarge" } })));
    expect(failure).toMatch(/x2iedn\.xlarge: memory unknown to the rule/);
    expect(INSTANCE_MEMORY_GIB["r6i.xlarge"]).toBe(32);
    expect(INSTANCE_MEMORY_GIB["m6i.2xlarge"]).toBe(32);
  }, 30_000);
});
