import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { allHosts, checkInventoryMatchesConfig, InventoryError, loadInventoryFile, parseInventory, recordHostMembership, recordReplacedInstance } from "./inventory";
import { selectHosts, splitList } from "./select";

const inventory = {
  pool: "sandstone",
  network: "preprod",
  region: "eu-west-1",
  bastion: { name: "bastion", role: "bastion", publicIp: "203.0.113.10", privateIp: "10.40.16.10", instanceId: "i-0123456789abcdef0" },
  hosts: [
    { name: "relay-1", role: "relay", privateIp: "10.40.0.10", publicIp: "203.0.113.11", instanceId: "i-0123456789abcdef1", availabilityZone: "eu-west-1a" },
    { name: "relay-2", role: "relay", privateIp: "10.40.1.10", publicIp: "203.0.113.12", instanceId: "i-0123456789abcdef2", availabilityZone: "eu-west-1b" },
    { name: "producer-1", role: "producer", privateIp: "10.40.8.10", publicIp: null, instanceId: "i-0123456789abcdef3", availabilityZone: "eu-west-1a" },
    { name: "producer-2", role: "producer", privateIp: "10.40.9.10", publicIp: "", instanceId: "i-0123456789abcdef4", availabilityZone: "eu-west-1b" },
  ],
  secrets: { coldSigningKey: "arn:aws:secretsmanager:eu-west-1:1:secret:x" },
  parameters: { leader: "/sandstone/leader" },
  hostKeys: { "relay-1": "SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU" },
};

const dir = mkdtempSync(join(tmpdir(), "inventory-"));
function file(name: string, content: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, typeof content === "string" ? content : JSON.stringify(content));
  return path;
}

describe("inventory", () => {
  it("a replaced host's new instance is written into the file in its own shape; an unknown host is refused, the file unchanged", () => {
    const path = file("replaced.json", { inventory: { sensitive: false, type: ["object", {}], value: inventory } });
    recordReplacedInstance(path, "relay-2", "i-0fedcba9876543210");
    const after = loadInventoryFile(path);
    expect(after.hosts.find((h) => h.name === "relay-2")?.instanceId).toBe("i-0fedcba9876543210");
    expect(after.hosts.find((h) => h.name === "relay-1")?.instanceId).toBe("i-0123456789abcdef1");
    expect(() => recordReplacedInstance(path, "relay-9", "i-0fedcba9876543211")).toThrow(/no host relay-9/);
    expect(loadInventoryFile(path)).toEqual(after);
  });

  it("a relay that joins goes after the last relay, one that leaves is removed; the file keeps its shape", () => {
    const path = file("membership.json", { "sandstone-nodes": { inventory } });
    recordHostMembership(path, { joined: { name: "relay-3", role: "relay", privateIp: "10.40.2.10", publicIp: undefined, instanceId: "i-0fedcba9876543212", availabilityZone: "eu-west-1c" } });
    expect(loadInventoryFile(path).hosts.map((h) => h.name)).toEqual(["relay-1", "relay-2", "relay-3", "producer-1", "producer-2"]);
    recordHostMembership(path, { left: "relay-1" });
    const after = loadInventoryFile(path);
    expect(after.hosts.map((h) => h.name)).toEqual(["relay-2", "relay-3", "producer-1", "producer-2"]);
    expect(after.hosts[1]).toMatchObject({ instanceId: "i-0fedcba9876543212", privateIp: "10.40.2.10" });
    expect(() => recordHostMembership(path, { joined: { name: "relay-4", role: "relay", privateIp: "not-an-ip", publicIp: undefined, instanceId: "i-0fedcba9876543213" } })).toThrow(InventoryError);
    expect(loadInventoryFile(path)).toEqual(after);
  });

  it("reads `terraform output -json`, `cdktf output --outputs-file` and the bare object alike", () => {
    const tf = loadInventoryFile(file("tf.json", { inventory: { sensitive: false, type: ["object", {}], value: inventory } }));
    const cdktf = loadInventoryFile(file("cdktf.json", { "sandstone-nodes": { inventory } }));
    const bare = loadInventoryFile(file("bare.json", inventory));
    expect(tf).toEqual(cdktf);
    expect(tf).toEqual(bare);
    expect(tf.hosts[2]?.publicIp).toBeUndefined();
    expect(tf.hosts[3]?.publicIp).toBeUndefined();
    expect(allHosts(tf).map((h) => h.name)).toEqual(["bastion", "relay-1", "relay-2", "producer-1", "producer-2"]);
  });

  it("names the file and every bad field", () => {
    const bad = { ...inventory, bastion: { ...inventory.bastion, publicIp: "nope" }, hosts: [{ ...inventory.hosts[0], instanceId: "x" }] };
    const path = file("bad.json", { inventory: { sensitive: false, type: "x", value: bad } });
    expect(() => loadInventoryFile(path)).toThrow(InventoryError);
    expect(() => loadInventoryFile(path)).toThrow(new RegExp(`${path}: not a pool-ops inventory[\\s\\S]*bastion.publicIp: expected the bastion's public IPv4 address[\\s\\S]*hosts\\[0\\].instanceId`));
    expect(() => loadInventoryFile(file("notjson.json", "{"))).toThrow(/notjson.json: not JSON/);
    expect(() => loadInventoryFile(join(dir, "absent.json"))).toThrow(/absent.json: cannot read the inventory: file not found/);
    expect(() => parseInventory({ a: { inventory }, b: { inventory } }, "two.json")).toThrow(/several stacks/);
    const dup = { ...inventory, hosts: [inventory.hosts[0], inventory.hosts[0]] };
    expect(() => parseInventory(dup, "dup.json")).toThrow(/duplicate host name relay-1/);
  });

  it("selects by host names and roles, bastion first, in inventory order; unknown names are an error", () => {
    const inv = parseInventory(inventory, "x");
    expect(selectHosts(inv).map((h) => h.name)).toEqual(["bastion", "relay-1", "relay-2", "producer-1", "producer-2"]);
    expect(selectHosts(inv, { roles: ["producer"] }).map((h) => h.name)).toEqual(["producer-1", "producer-2"]);
    expect(selectHosts(inv, { hosts: ["producer-2", "relay-1"] }).map((h) => h.name)).toEqual(["relay-1", "producer-2"]);
    expect(selectHosts(inv, { hosts: ["relay-1", "producer-1"], roles: ["relay"] }).map((h) => h.name)).toEqual(["relay-1"]);
    expect(() => selectHosts(inv, { hosts: ["relay-9"] })).toThrow(/no host relay-9/);
    expect(() => selectHosts(inv, { roles: ["relays"] })).toThrow(/unknown role relays/);
    expect(() => selectHosts(inv, { roles: ["monitoring"] })).toThrow(/matches no host/);
    expect(splitList(["relay-1,relay-2", " producer-1 "])).toEqual(["relay-1", "relay-2", "producer-1"]);
  });

  it("inventory.pool unvalidated in journal paths (path traversal): a pool name the config would refuse is refused", () => {
    for (const pool of ["../../etc/cron.d/x", "a/b", "..", "Sandstone", "x"]) {
      expect(() => parseInventory({ ...inventory, pool }, "evil.json"), pool).toThrow(/evil\.json: not a pool-ops inventory[\s\S]*pool: expected 3-24 characters/);
    }
  });

  it("no check that the inventory's pool, network and region match the pool config: each mismatch is refused naming both values", () => {
    const inv = parseInventory({ ...inventory, pool: "otherpool", network: "mainnet", region: "us-east-1" }, "x");
    const config = { name: "sandstone", network: "preprod", region: "eu-west-1" } as const;
    let message = "";
    try {
      checkInventoryMatchesConfig(inv, config, "outputs.json", "my-pool.yaml");
    } catch (error) {
      expect(error).toBeInstanceOf(InventoryError);
      message = (error as Error).message;
    }
    expect(message).toContain("outputs.json does not describe the pool of my-pool.yaml");
    expect(message).toContain('pool: the inventory says "otherpool", the pool config (name) says "sandstone"');
    expect(message).toContain('network: the inventory says "mainnet", the pool config (network) says "preprod"');
    expect(message).toContain('region: the inventory says "us-east-1", the pool config (region) says "eu-west-1"');
    expect(() => checkInventoryMatchesConfig(parseInventory(inventory, "x"), config, "outputs.json", "my-pool.yaml")).not.toThrow();
  });
});
