/**
 * cardano-node's systemd unit, rendered (render/systemd/cardano-node.service): confined to what a node needs — it writes
 * its database and socket directory only, reads its config and keys, uses no capability and only Unix and IP sockets —
 * and accepted by systemd itself (`systemd-analyze verify`, and `security --offline` for the exposure it scores).
 */
import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, copyFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { poolAddressPlan } from "../config/address-plan";
import { hostLayout } from "../config/host-layout";
import { testPool } from "../test/pool-fixtures";
import { renderUnit, type RenderHost } from "./node-files";

const config = testPool();
const layout = hostLayout(config);
const producer = poolAddressPlan(config).hosts.find((h) => h.name === "producer-1")! as RenderHost;

/** The `[Service]` directives, each with every value it was given (systemd reads a repeated key as a list). */
function serviceDirectives(unit: string): Map<string, string[]> {
  const service = unit.split(/^\[Service\]$/m)[1]!.split(/^\[/m)[0]!;
  const directives = new Map<string, string[]>();
  for (const line of service.split("\n")) {
    const m = /^([A-Za-z]+)=(.*)$/.exec(line.trim());
    if (m) directives.set(m[1]!, [...(directives.get(m[1]!) ?? []), m[2]!]);
  }
  return directives;
}

const systemdAnalyze = spawnSync("systemd-analyze", ["--version"]).status === 0;
const NO_SYSTEMD = systemdAnalyze ? "" : " [skipped: no systemd-analyze on this machine (Debian: the systemd package)]";

describe("cardano-node's unit: confined to what a node needs", () => {
  const service = serviceDirectives(renderUnit(config, producer));
  const one = (key: string) => service.get(key)?.join(" ");

  test("the filesystem: read-only but for the database and the socket directory; no home, private /tmp and devices", () => {
    expect(one("ProtectSystem")).toBe("strict");
    expect(one("ReadWritePaths")?.split(/\s+/).sort()).toEqual([layout.database, layout.socketDir].sort());
    for (const key of ["ProtectHome", "PrivateTmp", "PrivateDevices", "PrivateMounts"]) expect(one(key), key).toBe("true");
    // What the node only reads lies outside every writable path: its config, topology, command line and keys.
    const writable = one("ReadWritePaths")!.split(/\s+/);
    for (const read of [layout.nodeConfig, layout.topology, layout.environmentFile, layout.activeCredentials.vrfKey, layout.heldCredentials.kesKey, layout.releaseShareDir]) {
      expect(writable.some((w) => read === w || read.startsWith(`${w}/`)), read).toBe(false);
    }
    expect(one("UMask")).toBe("0027");
  });

  test("privileges, kernel and sockets: no capability, no new privileges, kernel interfaces protected, Unix and IP sockets only", () => {
    expect(one("NoNewPrivileges")).toBe("true");
    expect(service.get("CapabilityBoundingSet")).toEqual([""]);
    expect(service.get("AmbientCapabilities")).toEqual([""]);
    for (const key of ["ProtectKernelTunables", "ProtectKernelModules", "ProtectKernelLogs", "ProtectControlGroups", "ProtectClock", "ProtectHostname", "RestrictNamespaces", "RestrictRealtime", "RestrictSUIDSGID", "LockPersonality", "RemoveIPC"]) {
      expect(one(key), key).toBe("true");
    }
    expect(one("RestrictAddressFamilies")?.split(/\s+/).sort()).toEqual(["AF_INET", "AF_INET6", "AF_UNIX"]);
    expect(one("SystemCallArchitectures")).toBe("native");
    // A deny-list that answers EPERM: a call outside it is never what kills a node.
    expect(one("SystemCallFilter")).toMatch(/^~@clock /);
    expect(one("SystemCallErrorNumber")).toBe("EPERM");
  });

  test("nothing a node needs is taken away: it runs as the node user, may map executable code and reach any peer", () => {
    expect(one("User")).toBe(config.node.user);
    expect(one("Group")).toBe(config.node.group);
    for (const absent of ["MemoryDenyWriteExecute", "PrivateNetwork", "IPAddressDeny", "PrivateUsers", "ProcSubset"]) expect(service.has(absent), absent).toBe(false);
  });
});

describe.skipIf(!systemdAnalyze && process.env.CI !== "true")(`cardano-node's unit as systemd reads it${NO_SYSTEMD}`, () => {
  const dir = mkdtempSync(join(tmpdir(), "node-unit-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  // verify checks ExecStart's binary exists and the units it requires are found beside it.
  const node = join(dir, "cardano-node");
  writeFileSync(node, "#!/bin/sh\n");
  chmodSync(node, 0o755);
  const unit = join(dir, "cardano-node.service");
  writeFileSync(unit, renderUnit(testPool({ node: { binDir: dir } }), producer));
  copyFileSync(join(import.meta.dirname, "..", "stacks", "boot", "pool-node-boot.service"), join(dir, "pool-node-boot.service"));

  test("systemd-analyze verify finds nothing to say", () => {
    const r = spawnSync("systemd-analyze", ["verify", unit], { cwd: dir, encoding: "utf8" });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toBe("");
  });

  test("systemd-analyze security scores it well below systemd's 'medium' exposure (9.0 'unsafe' with the three options the unit had before)", () => {
    const text = execFileSync("systemd-analyze", ["security", "--offline=true", "--no-pager", unit], { cwd: dir, encoding: "utf8" });
    const exposure = Number(/Overall exposure level for cardano-node\.service: ([\d.]+)/.exec(text)?.[1]);
    expect(exposure).toBeLessThanOrEqual(2);
  });
});
