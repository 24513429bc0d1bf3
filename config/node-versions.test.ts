import { describe, expect, it } from "vitest";
import { parsePoolConfig, PoolConfigError } from "./load";
import { NODE_VERSION_LINES, nodeVersionLine, NodeVersionError } from "./node-versions";
import { TEST_AUTHORIZED_KEY } from "../test/pool-fixtures";
import { DEFAULTS } from "./schema";

const base = {
  name: "vtable",
  region: "eu-west-1",
  availabilityZones: ["eu-west-1a", "eu-west-1b", "eu-west-1c"],
  bastion: { adminCidrs: ["203.0.113.0/24"] },
  ssh: { authorizedKeys: [TEST_AUTHORIZED_KEY] },
};
const problems = (input: object): string => {
  try {
    parsePoolConfig(input, "pool.yaml");
    return "";
  } catch (error) {
    if (error instanceof PoolConfigError) return error.message;
    throw error;
  }
};

describe("node version table", () => {
  it("maps a version to its line, with the flags, required keys and archive name of that line", () => {
    const l111 = nodeVersionLine("11.1.3");
    expect(l111.line).toBe("11.1");
    expect(l111.archiveName("11.1.3")).toBe("cardano-node-11.1.3-linux-amd64.tar.gz");
    expect(l111.requiredConfigKeys).toEqual(expect.arrayContaining(["LastKnownBlockVersion-Major", "LastKnownBlockVersion-Minor"]));
    expect(l111.requiredConfigKeys).not.toContain("TurnOnLogMetrics");
    expect(l111.ledgerBackends).not.toContain("V1LMDB");
    expect(nodeVersionLine("11.0.1").requiredConfigKeys).toContain("TurnOnLogMetrics");
    expect(nodeVersionLine("11.0.1").ledgerBackends).toContain("V1LMDB");
    for (const row of NODE_VERSION_LINES) expect(row.protocol.maxMajor).toBeGreaterThanOrEqual(11);
  });

  it("refuses a retired line with the reason, and anything unknown, naming node.version", () => {
    expect(() => nodeVersionLine("10.5.1")).toThrow(NodeVersionError);
    expect(() => nodeVersionLine("10.5.1")).toThrow(/node.version 10.5.1: .*cannot follow the protocol-version-11 hard fork.*supported: 11.1.x, 11.0.x/);
    expect(() => nodeVersionLine("12.0.0")).toThrow(/node.version 12.0.0: not a supported cardano-node line/);
    expect(() => nodeVersionLine("11.1")).toThrow(/expected a version such as 11.1.3/);
  });

  it("defaults the pool to the newest 11.1 release", () => {
    expect(DEFAULTS.nodeVersion).toBe("11.1.3");
    expect(parsePoolConfig(base, "pool.yaml").node.version).toBe("11.1.3");
  });

  it("refuses, at load, a mainnet pool on a node line that cannot follow it, naming the field", () => {
    const message = problems({ ...base, network: "mainnet", node: { version: "10.5.1" } });
    expect(message).toMatch(/node\.version/);
    expect(message).toMatch(/protocol-version-11/);
    expect(problems({ ...base, network: "mainnet", node: { version: "11.0.1" } })).toBe("");
  });

  it("refuses a ledger backend the line does not offer", () => {
    expect(problems({ ...base, node: { version: "11.1.3", ledgerBackend: "V1LMDB" } })).toMatch(/node\.ledgerBackend.*offers V2InMemory, V2LSM/);
    expect(problems({ ...base, node: { version: "11.0.1", ledgerBackend: "V1LMDB" } })).toBe("");
  });

  it("sizes nodes per network: mainnet defaults fit mainnet, the test networks keep today's", () => {
    const mainnet = parsePoolConfig({ ...base, network: "mainnet" }, "pool.yaml");
    expect(mainnet.relays.instanceType).toBe("r6i.xlarge");
    expect(mainnet.producers.chainDbVolumeGiB).toBeGreaterThanOrEqual(500);
    expect(mainnet.pushConfig.healthTimeoutSeconds).toBeGreaterThan(600);
    const preprod = parsePoolConfig(base, "pool.yaml");
    expect(preprod.relays.instanceType).toBe("m6i.large");
    expect(preprod.relays.chainDbVolumeGiB).toBe(200);
    expect(parsePoolConfig({ ...base, relays: { instanceType: "m6i.xlarge" } }, "pool.yaml").relays.instanceType).toBe("m6i.xlarge");
  });
});
