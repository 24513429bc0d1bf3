import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { labGenesisHashes, releaseShareFiles, writeReleaseShare } from "../lab/release-fixtures";
import { testPool } from "../test/pool-fixtures";
import { labReleaseFacts, releaseFactsOf } from "../test/release-fixture";
import { genesisFileHash } from "./genesis-hash";
import { composeNodeFile, mergePatch, type JsonObject } from "./json-merge";
import { NETWORK_NODE_DATA } from "./network-data";
import { checkedRelease, expectedGenesisHashes, releaseProblems } from "./release-files";

const lab = testPool({ node: { genesisHashes: labGenesisHashes("preprod") } });

describe("the installed release's node files", () => {
  test("a complete release whose genesis hashes to the pool's passes", () => {
    expect(releaseProblems(lab, labReleaseFacts("preprod", "11.1.3"))).toEqual([]);
  });

  test("the pool's genesis is the network's published one unless node.genesisHashes says otherwise", () => {
    expect(expectedGenesisHashes(testPool())).toEqual(NETWORK_NODE_DATA.preprod.genesisHashes);
    // The lab's synthetic genesis is not preprod's: a pool on the real network refuses it.
    expect(releaseProblems(testPool(), labReleaseFacts("preprod", "11.1.3")).join("\n")).toMatch(/names ShelleyGenesisHash [0-9a-f]{64}, the pool's preprod genesis is 162d29c4/);
  });

  test("a release lacking files, or whose genesis files were changed, is refused with each reason", () => {
    expect(releaseProblems(lab, labReleaseFacts("preprod", "11.1.3", { omitFiles: ["peer-snapshot.json", "conway-genesis.json"] })).join("\n")).toMatch(/lacks conway-genesis.json, peer-snapshot.json/);
    const root = mkdtempSync(join(tmpdir(), "share-"));
    const dir = writeReleaseShare(root, "preprod", "11.1.3");
    writeFileSync(join(dir, "shelley-genesis.json"), '{"networkMagic": 1, "tampered": true}\n');
    const problems = releaseProblems(lab, releaseFactsOf(dir));
    expect(problems.join("\n")).toMatch(/its Shelley genesis file hashes to [0-9a-f]{64}, expected/);
    expect(() => checkedRelease(lab, releaseFactsOf(dir))).toThrow(/the installed release cannot run this pool/);
    expect(releaseProblems(lab, releaseFactsOf(join(root, "mainnet"))).join("\n")).toMatch(/no such directory/);
    rmSync(root, { recursive: true, force: true });
  });

  test("a release lacking a file its own config names (checkpoints.json on preview) is refused; preprod names none", () => {
    const preview = testPool({ network: "preview", node: { genesisHashes: labGenesisHashes("preview") } });
    expect(releaseProblems(preview, labReleaseFacts("preview", "11.1.3"))).toEqual([]);
    expect(releaseProblems(preview, labReleaseFacts("preview", "11.1.3", { omitFiles: ["checkpoints.json"] })).join("\n")).toMatch(/lacks checkpoints\.json, which its own config\.json or topology\.json names/);
    expect(labReleaseFacts("preprod", "11.1.3").present).not.toContain("checkpoints.json");
  });

  test("the hashes computed on hosts (Python) are the node's: Byron over canonical JSON, the others over the bytes", () => {
    const files = releaseShareFiles("preview", "11.1.3");
    const facts = labReleaseFacts("preview", "11.1.3");
    expect(facts.hashes.Byron).toBe(genesisFileHash("Byron", files["byron-genesis.json"]!));
    expect(facts.hashes.Shelley).toBe(genesisFileHash("Shelley", files["shelley-genesis.json"]!));
    // Reformatting Byron keeps its hash; reformatting Shelley does not (it is over the bytes).
    const spaced = JSON.stringify(JSON.parse(files["byron-genesis.json"]!), null, 8);
    expect(genesisFileHash("Byron", spaced)).toBe(facts.hashes.Byron);
    expect(genesisFileHash("Shelley", JSON.stringify(JSON.parse(files["shelley-genesis.json"]!)))).not.toBe(facts.hashes.Shelley);
  });
});

describe("composition: release file, references rebased, overlay as a JSON Merge Patch", () => {
  test("RFC 7386: objects merge, null removes, arrays and scalars replace", () => {
    expect(mergePatch({ a: "b", c: { d: "e", f: "g" } }, { a: "z", c: { f: null } })).toEqual({ a: "z", c: { d: "e" } });
    expect(mergePatch({ a: [1, 2] }, { a: [3] })).toEqual({ a: [3] });
    expect(mergePatch({ a: 1 }, { b: { c: null } })).toEqual({ a: 1, b: {} });
    expect(mergePatch("x", { a: 1 })).toEqual({ a: 1 });
  });

  test("the boot's Python composer and pool-ops' agree on the same release and overlay", () => {
    const root = mkdtempSync(join(tmpdir(), "compose-"));
    const dir = writeReleaseShare(root, "preprod", "11.1.3");
    const overlay: JsonObject = { TraceOptions: { "": { backends: ["EKGBackend"] } }, PeerSharing: false, ConsensusMode: null, CheckpointsFile: "x.json" };
    writeFileSync(join(root, "overlay.json"), JSON.stringify(overlay));
    const script = join(import.meta.dirname, "..", "stacks", "boot", "compose-node-files.py");
    execFileSync("python3", [script, join(dir, "config.json"), join(root, "overlay.json"), join(root, "out.json")]);
    const release = JSON.parse(releaseShareFiles("preprod", "11.1.3")["config.json"]!) as JsonObject;
    const fromPython = JSON.parse(execFileSync("cat", [join(root, "out.json")], { encoding: "utf8" }));
    expect(fromPython).toEqual(composeNodeFile(release, dir, overlay));
    expect(fromPython.ShelleyGenesisFile).toBe(`${dir}/shelley-genesis.json`);
    expect(fromPython.ConsensusMode).toBeUndefined();
    // A release without the file: the boot refuses to make one up.
    let code = 0;
    try {
      execFileSync("python3", [script, join(root, "missing.json"), join(root, "overlay.json"), join(root, "out2.json")], { stdio: "pipe" });
    } catch (error) {
      code = (error as { status: number }).status;
    }
    expect(code).toBe(66);
    rmSync(root, { recursive: true, force: true });
  });
});

describe("the installed node's version", () => {
  test("a host running another line than node.version is refused; the same line passes", async () => {
    const { mkdtempSync: tmp, writeFileSync: write, chmodSync: chmod } = await import("node:fs");
    const dir = tmp(join(tmpdir(), "bin-"));
    const node = join(dir, "cardano-node");
    write(node, '#!/bin/sh\necho "cardano-node 11.0.1 - linux-x86_64 - ghc-9.6"\n');
    chmod(node, 0o755);
    const root = mkdtempSync(join(tmpdir(), "share-"));
    const share = writeReleaseShare(root, "preprod", "11.1.3");
    const script = join(import.meta.dirname, "..", "ops", "pool", "release-facts.py");
    const facts = JSON.parse(execFileSync("python3", [script, share, node], { encoding: "utf8" }));
    expect(facts.nodeVersion).toBe("11.0.1");
    expect(releaseProblems(lab, facts).join("\n")).toMatch(/the host runs cardano-node 11\.0\.1, but node\.version is 11\.1\.3 \(line 11\.1\.x\)/);
    write(node, '#!/bin/sh\necho "cardano-node 11.1.2 - linux-x86_64 - ghc-9.6"\n');
    expect(releaseProblems(lab, JSON.parse(execFileSync("python3", [script, share, node], { encoding: "utf8" })))).toEqual([]);
    rmSync(root, { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
  });
});
