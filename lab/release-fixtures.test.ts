/**
 * The lab's release archive is shaped like cardano-node's and runs on its own: extracted to a bare directory, its
 * bin/cardano-node (a sh wrapper, the bundled stand-in, the Node binary inside the archive) starts on a host's files
 * with an empty environment, and its cardano-cli answers over the node's socket. What the booted lab relies on.
 */
import { execFileSync, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { composeNodeFile, type JsonObject } from "../render/json-merge";
import { cardanoNodeRelease } from "./release-fixtures";
import { freePort } from "../test/support";

const root = mkdtempSync(join(tmpdir(), "lab-release-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));


describe("the lab's cardano-node release archive", () => {
  it("is named and laid out like the real one, and its node runs from it with an empty environment", async () => {
    const archive = cardanoNodeRelease(root, "11.1.3", { networks: ["preprod"] });
    expect(archive.file.endsWith("/cardano-node-11.1.3-linux-amd64.tar.gz")).toBe(true);
    const tree = join(root, "extracted");
    mkdirSync(tree);
    execFileSync("tar", ["-xzf", archive.file, "-C", tree]);
    expect(readdirSync(join(tree, "bin")).sort()).toEqual(["cardano-cli", "cardano-node"]);
    expect(readdirSync(join(tree, "share", "preprod")).sort()).toEqual(["alonzo-genesis.json", "byron-genesis.json", "config.json", "conway-genesis.json", "peer-snapshot.json", "shelley-genesis.json", "submit-api-config.json", "topology.json", "tracer-config.json"]);
    const bare = { PATH: "/usr/bin:/bin" };
    expect(execFileSync(join(tree, "bin", "cardano-node"), ["--version"], { env: bare, cwd: "/", encoding: "utf8" })).toMatch(/^cardano-node 11\.1\.3 /);
    expect(execFileSync(join(tree, "bin", "cardano-cli"), ["--version"], { env: bare, cwd: "/", encoding: "utf8" })).toMatch(/^cardano-cli 11\.1\.0\.0 /);

    // A host's files, as push-config renders them from this release.
    const share = join(tree, "share", "preprod");
    const port = await freePort();
    const host = join(root, "host");
    mkdirSync(join(host, "config"), { recursive: true });
    const release = JSON.parse(readFileSync(join(share, "config.json"), "utf8")) as JsonObject;
    writeFileSync(join(host, "config", "config.json"), JSON.stringify(composeNodeFile(release, share, { TraceOptions: { "": { backends: [`PrometheusSimple suffix 127.0.0.1 ${port}`] } } })));
    writeFileSync(join(host, "config", "topology.json"), JSON.stringify(composeNodeFile(JSON.parse(readFileSync(join(share, "topology.json"), "utf8")) as JsonObject, share, {})));
    const socket = join(host, "run", "node.socket");
    const node = spawn(join(tree, "bin", "cardano-node"), ["run", "--config", join(host, "config", "config.json"), "--topology", join(host, "config", "topology.json"), "--database-path", join(host, "db", "node"), "--socket-path", socket], { env: bare, cwd: "/", stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    node.stdout.on("data", (c: Buffer) => (out += c.toString()));
    node.stderr.on("data", (c: Buffer) => (out += c.toString()));
    try {
      const deadline = Date.now() + 15_000;
      let tip = "";
      while (!tip) {
        try {
          tip = execFileSync(join(tree, "bin", "cardano-cli"), ["latest", "query", "tip", "--testnet-magic", "1", "--socket-path", socket], { env: bare, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
        } catch {
          if (Date.now() > deadline) throw new Error(`the node from the archive did not answer on its socket within 15 s:\n${out}`);
          await new Promise((r) => setTimeout(r, 200));
        }
      }
      expect(JSON.parse(tip).slot).toBeGreaterThan(0);
      const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      expect(metrics).toMatch(/^cardano_node_metrics_slotNum_int \d+$/m);
      expect(out).toMatch(/"version":"11\.1\.3"/);
    } finally {
      node.kill("SIGTERM");
    }
  }, 60_000);
});
