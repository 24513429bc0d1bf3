import { describe, expect, it } from "vitest";
import { hostLayout } from "../config/host-layout";
import { testPool } from "../test/pool-fixtures";
import { nodeEnvironmentFile, nodeRunArgs, nonProducingFlag, reloadsCredentialsOnSighup } from "./node-args";

describe("node run arguments", () => {
  it("picks the non-producing flag by node version", () => {
    expect(nonProducingFlag("10.5.1")).toBe("--start-as-non-producing-node");
    expect(nonProducingFlag("10.6.0")).toBe("--start-as-non-producing-node");
    expect(nonProducingFlag("10.5.0")).toBe("--non-producing-node");
    expect(nonProducingFlag("8.2.0")).toBe("--non-producing-node");
    expect(nonProducingFlag("8.1.2")).toBeUndefined();
    expect(() => nonProducingFlag("10.5")).toThrow(/node.version: expected a version such as 10.5.1/);
    expect(reloadsCredentialsOnSighup("8.7.2")).toBe(true);
    expect(reloadsCredentialsOnSighup("8.7.1")).toBe(false);
  });

  it("points producers at the active credential paths; relays get none", () => {
    const config = testPool();
    const layout = hostLayout(config);
    const leader = nodeRunArgs(config, "leader");
    expect(leader).toContain(layout.activeCredentials.kesKey);
    expect(leader).toContain("--shelley-operational-certificate");
    expect(leader).not.toContain("--start-as-non-producing-node");
    expect(nodeRunArgs(config, "standby")).toContain("--start-as-non-producing-node");
    expect(nodeRunArgs(config, "relay").join(" ")).not.toMatch(/shelley|non-producing/);
    expect(nodeRunArgs(config, "relay")).toEqual(expect.arrayContaining(["--port", String(config.relays.port)]));
  });

  it("leaves credentials off a standby whose node has no non-producing flag", () => {
    const config = testPool({ node: { version: "8.1.2" } });
    expect(nodeRunArgs(config, "standby").join(" ")).not.toMatch(/shelley/);
    expect(nodeEnvironmentFile(config, "leader")).toMatch(/^NODE_ARGS=".*--shelley-kes-key \/opt\/cardano\/keys\/kes.skey/m);
  });
});
