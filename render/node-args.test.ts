import { describe, expect, it } from "vitest";
import { hostLayout } from "../config/host-layout";
import { testPool } from "../test/pool-fixtures";
import { modeOfEnvironmentFile, nodeEnvironmentFile, nodeRunArgs } from "./node-args";

describe("node run arguments", () => {
  const config = testPool();
  const layout = hostLayout(config);

  it("names the credentials on the leader's command line only", () => {
    const leader = nodeRunArgs(config, "leader");
    expect(leader).toEqual(expect.arrayContaining(["--shelley-kes-key", layout.activeCredentials.kesKey, "--shelley-vrf-key", layout.activeCredentials.vrfKey]));
    expect(leader).toEqual(expect.arrayContaining(["--shelley-operational-certificate", layout.activeCredentials.opcert]));
    expect(leader).not.toContain("--start-as-non-producing-node");
  });

  it("gives the standby no credential flag and no non-producing flag: nothing a SIGHUP could turn on", () => {
    for (const mode of ["standby", "relay"] as const) {
      const text = nodeRunArgs(config, mode).join(" ");
      expect(text).not.toMatch(/shelley|non-producing|keys\//);
      expect(nodeRunArgs(config, mode)).toEqual(expect.arrayContaining(["--port", String(config.relays.port)]));
    }
  });

  it("points --database-path inside the chain volume, never at its mount point", () => {
    const args = nodeRunArgs(config, "relay");
    const db = args[args.indexOf("--database-path") + 1]!;
    expect(db).toBe(`${layout.chainMount}/node`);
    expect(db).not.toBe(layout.chainMount);
  });

  it("writes the mode into the environment file, where the boot guard and the commands read it", () => {
    const text = nodeEnvironmentFile(config, "leader");
    expect(text).toMatch(/^NODE_ARGS=".*--shelley-kes-key \/opt\/cardano\/keys\/kes.skey/m);
    expect(modeOfEnvironmentFile(text)).toBe("leader");
    expect(modeOfEnvironmentFile(nodeEnvironmentFile(config, "standby"))).toBe("standby");
    expect(modeOfEnvironmentFile("NODE_ARGS=\"\"\n")).toBeUndefined();
  });
});
