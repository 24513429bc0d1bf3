/**
 * Refusals before anything is sent, as an operator meets them (spawned pool-ops): endpoint overrides that are not
 * loopback (or an AWS VPC endpoint named by --aws-private-endpoint) exit 2 with a clear message before any request —
 * a listener on a non-loopback address of this machine sees no connection at all; an inventory of another pool,
 * network or region than the config's exits 2 naming both values.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { networkInterfaces, tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runPoolOps } from "../lab/harness";
import { REPO_DIR } from "../lab/lab";

/** A non-loopback IPv4 address of this machine, or undefined when it has none. */
function nonLoopbackAddress(): string | undefined {
  for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) if (a.family === "IPv4" && !a.internal) return a.address;
  return undefined;
}

describe("endpoint overrides are refused before any request", () => {
  const address = nonLoopbackAddress();
  let server: Server | undefined;
  let port = 0;
  let connections = 0;
  beforeAll(async () => {
    if (!address) return;
    server = createServer((socket) => {
      connections++;
      socket.destroy();
    });
    await new Promise<void>((resolve) => server!.listen(0, address, () => resolve()));
    port = (server.address() as { port: number }).port;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  });

  it("--aws-endpoint http://192.0.2.2:9 exits 2 naming the flag, at once", async () => {
    const run = await runPoolOps(undefined, ["--from-aws", "--aws-endpoint", "http://192.0.2.2:9", "inventory"], { timeoutMs: 20_000 });
    expect(run.code, run.stderr).toBe(2);
    expect(run.stderr).toMatch(/--aws-endpoint "http:\/\/192\.0\.2\.2:9": an emulator endpoint must be on loopback/);
    expect(run.stderr).toMatch(/nothing was sent anywhere/);
  });

  it("keys import --endpoint http://192.0.2.2:9 exits 2 before reading a key file or sending anything", async () => {
    const run = await runPoolOps(undefined, ["keys", "import", "--pool", "sandstone", "--region", "eu-west-1", "--dir", "/nonexistent-keyset", "--endpoint", "http://192.0.2.2:9"], { timeoutMs: 20_000 });
    expect(run.code, run.stderr).toBe(2);
    expect(run.stderr).toMatch(/import --endpoint "http:\/\/192\.0\.2\.2:9": an emulator endpoint must be on loopback/);
    expect(run.stderr).not.toMatch(/nonexistent-keyset/); // refused before the key set was even looked at
  });

  it("an http or foreign --aws-private-endpoint exits 2", async () => {
    const http = await runPoolOps(undefined, ["--aws-private-endpoint", "http://vpce-0123456789abcdef0-abcd1234.ec2.eu-west-1.vpce.amazonaws.com", "inventory"]);
    expect(http.code).toBe(2);
    expect(http.stderr).toMatch(/must use https/);
    const foreign = await runPoolOps(undefined, ["--aws-private-endpoint", "https://192.0.2.2", "inventory"]);
    expect(foreign.code).toBe(2);
    expect(foreign.stderr).toMatch(/expected a VPC interface endpoint name/);
  });

  it.skipIf(!address)("a listener on this machine's own non-loopback address receives no connection from any of them", async () => {
    const url = `http://${address}:${port}`;
    const runs = await Promise.all([
      runPoolOps(undefined, ["--from-aws", "--aws-endpoint", url, "inventory"]),
      runPoolOps(undefined, ["keys", "import", "--pool", "sandstone", "--region", "eu-west-1", "--dir", "/nonexistent-keyset", "--endpoint", url]),
      runPoolOps(undefined, ["keys", "show", "--pool", "sandstone", "--region", "eu-west-1", "--network", "preprod", "--endpoint", url]),
      runPoolOps(undefined, ["inventory", "--json"], { env: { POOL_EMULATOR_ENDPOINT: url, POOL_OPS_INVENTORY: "/nonexistent" } }),
    ]);
    for (const run of runs) expect(run.code, run.stderr).toBe(2);
    expect(connections).toBe(0);
  });
});

describe("an inventory of another pool than the config's", () => {
  it("exits 2 naming the inventory, the config and both values of each field that differs", async () => {
    const dir = mkdtempSync(join(tmpdir(), "pool-ops-inventory-"));
    const file = join(dir, "outputs.json");
    const host = (name: string, role: string, ip: string, n: number) => ({ name, role, privateIp: ip, instanceId: `i-0123456789abcdef${n}` });
    writeFileSync(
      file,
      JSON.stringify({
        pool: "otherpool",
        network: "mainnet",
        region: "eu-west-1",
        bastion: { ...host("bastion", "bastion", "10.40.16.10", 0), publicIp: "203.0.113.10" },
        hosts: [host("relay-1", "relay", "10.40.0.10", 1)],
      }),
    );
    // The default pool (sandstone, preprod, eu-west-1) is the config here.
    const run = await runPoolOps(undefined, ["--config", join(REPO_DIR, "config", "default-pool.yaml"), "inventory"], { env: { POOL_OPS_INVENTORY: file } });
    expect(run.code, run.stderr).toBe(2);
    expect(run.stderr).toContain(`${file} does not describe the pool of`);
    expect(run.stderr).toContain('pool: the inventory says "otherpool", the pool config (name) says "sandstone"');
    expect(run.stderr).toContain('network: the inventory says "mainnet", the pool config (network) says "preprod"');
    expect(run.stderr).not.toContain("region:");
  });
});
