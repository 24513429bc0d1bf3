import { describe, expect, test } from "vitest";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { tempDir } from "../test/support";
import { TEST_AUTHORIZED_KEY } from "../test/pool-fixtures";
import { poolAddressPlan } from "./address-plan";
import { DEFAULT_POOL_CONFIG_PATH, loadPoolConfig, loadPoolConfigFile, parsePoolConfig, parsePoolConfigYaml, PoolConfigError } from "./load";

const minimal = {
  name: "testpool",
  region: "eu-west-1",
  availabilityZones: ["eu-west-1a", "eu-west-1b", "eu-west-1c"],
  bastion: { adminCidrs: ["203.0.113.0/24"] },
  ssh: { authorizedKeys: [TEST_AUTHORIZED_KEY] },
};

function problemsOf(document: unknown): string[] {
  try {
    parsePoolConfig(document, "pool.yaml");
  } catch (error) {
    if (error instanceof PoolConfigError) return [...error.problems];
    throw error;
  }
  return [];
}

describe("pool config", () => {
  test("the embedded default pool is a valid preprod pool with four relays on port 3001", () => {
    const { config, path } = loadPoolConfig(DEFAULT_POOL_CONFIG_PATH);
    expect(path).toBe(DEFAULT_POOL_CONFIG_PATH);
    expect(config.network).toBe("preprod");
    expect(config.relays).toMatchObject({ count: 4, port: 3001 });
    expect(config.backend).toEqual({ type: "local", directory: "terraform-state" });
    expect(config.emulator).toBeUndefined();
  });

  test("a minimal config gets the documented defaults", () => {
    const config = parsePoolConfig(minimal, "pool.yaml");
    expect(config.network).toBe("preprod");
    expect(config.relays.count).toBe(4);
    expect(config.vpc.interfaceEndpoints).toHaveLength(7);
    expect(config.sandbox.enabled).toBe(false);
    expect(config.node.service.reload).toContain("HUP");
  });

  test("a wrong relay count is named by its path, what was expected and what was found", () => {
    expect(problemsOf({ ...minimal, relays: { count: "four" } })).toContain(
      'relays.count: expected an integer between 2 and 16, got "four"',
    );
    expect(problemsOf({ ...minimal, relays: { count: 1 } })).toContain("relays.count: expected an integer between 2 and 16, got 1");
  });

  test("every wrong field is reported at once, including unknown fields", () => {
    const problems = problemsOf({ ...minimal, network: "testnet", relays: { cnt: 4 }, vpc: { cidr: "10.0.0.1/16" } });
    expect(problems).toEqual(
      expect.arrayContaining([
        'network: expected one of mainnet, preprod, preview, got "testnet"',
        'relays: unknown field "cnt"',
        expect.stringMatching(/^vpc\.cidr: expected a canonical IPv4 CIDR/),
      ]),
    );
    expect(problems).toHaveLength(3);
  });

  test("the standby producer must sit in another AZ than the primary", () => {
    const problems = problemsOf({ ...minimal, producers: { primaryAz: "eu-west-1a", standbyAz: "eu-west-1a" } });
    expect(problems).toEqual([expect.stringMatching(/^producers\.standbyAz: expected an AZ different from producers\.primaryAz/)]);
  });

  test("a producer AZ outside the pool's AZs is refused", () => {
    expect(problemsOf({ ...minimal, producers: { primaryAz: "eu-west-1d" } })[0]).toMatch(/^producers\.primaryAz: expected one of availabilityZones/);
  });

  test("the emulator endpoint must be on loopback", () => {
    expect(problemsOf({ ...minimal, emulator: { endpoint: "http://10.1.2.3:5000" } })[0]).toMatch(/^emulator\.endpoint: expected a loopback URL/);
  });

  test("a missing file and broken YAML are refused naming the file", () => {
    expect(() => loadPoolConfigFile("/nonexistent/pool.yaml")).toThrow(/\/nonexistent\/pool\.yaml.*file not found/s);
    expect(() => parsePoolConfigYaml("name: [unclosed", "broken.yaml")).toThrow(/broken\.yaml: invalid pool config\n {2}- YAML:/);
    expect(() => parsePoolConfigYaml("name: a\nname: b\n", "dup.yaml")).toThrow(/dup\.yaml/);
  });

  test("POOL_CONFIG chooses the file when no explicit path is given", () => {
    const dir = tempDir("pool-config");
    const path = join(dir, "other.yaml");
    writeFileSync(path, `name: otherpool\nregion: us-east-2\navailabilityZones: [us-east-2a, us-east-2b, us-east-2c]\nbastion: { adminCidrs: [192.0.2.0/24] }\nssh: { authorizedKeys: ["${TEST_AUTHORIZED_KEY}"] }\n`);
    const saved = process.env.POOL_CONFIG;
    process.env.POOL_CONFIG = path;
    try {
      expect(loadPoolConfig().config.name).toBe("otherpool");
    } finally {
      if (saved === undefined) delete process.env.POOL_CONFIG;
      else process.env.POOL_CONFIG = saved;
    }
  });
});

describe("address plan", () => {
  const config = parsePoolConfig(minimal, "pool.yaml");
  const plan = poolAddressPlan(config);

  test("six subnets over three AZs: three relay, two producer (different AZs), one management", () => {
    expect(plan.subnets).toHaveLength(6);
    expect(new Set(plan.subnets.map((s) => s.availabilityZone)).size).toBe(3);
    const producers = plan.subnets.filter((s) => s.tier === "producer");
    expect(producers).toHaveLength(2);
    expect(producers.every((s) => !s.public)).toBe(true);
    expect(producers[0]?.availabilityZone).not.toBe(producers[1]?.availabilityZone);
    expect(plan.subnets.filter((s) => s.tier === "relay").map((s) => s.availabilityZone)).toEqual(config.availabilityZones);
  });

  test("relays round-robin over the three relay subnets with fixed, distinct addresses", () => {
    const relays = plan.hosts.filter((h) => h.role === "relay");
    expect(relays.map((r) => r.subnetId)).toEqual(["relay-a", "relay-b", "relay-c", "relay-a"]);
    const ips = plan.hosts.map((h) => h.privateIp);
    expect(new Set(ips).size).toBe(ips.length);
    expect(relays[3]?.privateIp).toBe("10.40.0.11");
  });

  test("a VPC too small for the subnet size is refused naming the field", () => {
    const tight = parsePoolConfig({ ...minimal, vpc: { cidr: "10.0.0.0/22", subnetPrefixLength: 24 } }, "pool.yaml");
    expect(() => poolAddressPlan(tight)).toThrow(/^vpc\.subnetPrefixLength: expected at least \/27/);
  });
});
