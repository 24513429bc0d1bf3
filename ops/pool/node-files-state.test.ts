/**
 * A node's files against the pool's, read the way `pool-ops status` reads them (ops/pool/release-facts.py with the
 * installed config, on a lab release's share/ in a temp dir): the composed config and matching genesis pass; a changed
 * key, a changed genesis file and a node started before its config changed are each reported, with the remedy.
 */
import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { labGenesisHashes, writeReleaseShare } from "../../lab/release-fixtures";
import { renderNodeConfig, type RenderHost } from "../../render/node-config";
import { checkedRelease, ReleaseFactsSchema, type ReleaseFacts } from "../../render/release-files";
import { testPool } from "../../test/pool-fixtures";
import { releaseFactsOf } from "../../test/release-fixture";
import { nodeFilesState } from "./node-files-state";

const FACTS_SCRIPT = join(import.meta.dirname, "release-facts.py");
const pool = testPool({ node: { genesisHashes: labGenesisHashes("preprod") } });
const producer: RenderHost = { name: "producer-1", role: "producer", privateIp: "10.40.8.10" };
const roots: string[] = [];
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) c.kill("SIGKILL");
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

/** A host: the release's share, and config.json composed from it as push-config would (then changed by `edit`). */
function hostFiles(edit: (config: Record<string, unknown>) => void = () => {}) {
  const root = mkdtempSync(join(tmpdir(), "node-files-"));
  roots.push(root);
  const share = writeReleaseShare(join(root, "share"), "preprod", "11.1.3");
  const composed = renderNodeConfig(pool, producer, checkedRelease(pool, releaseFactsOf(share))) as Record<string, unknown>;
  edit(composed);
  const installed = join(root, "config.json");
  writeFileSync(installed, JSON.stringify(composed, null, 2));
  return { root, share, installed };
}

function facts(share: string, installed: string): ReleaseFacts {
  return ReleaseFactsSchema.parse(JSON.parse(execFileSync("python3", [FACTS_SCRIPT, share, "/nonexistent/cardano-node", installed], { encoding: "utf8" })));
}

describe("a node's files against the release's config plus the overlay, and the pool's genesis", () => {
  test("the composed config, written in another key order, with the release's genesis files: all match", () => {
    const h = hostFiles();
    const reordered = Object.fromEntries(Object.entries(JSON.parse(readFileSync(h.installed, "utf8")) as object).reverse());
    writeFileSync(h.installed, JSON.stringify(reordered));
    const state = nodeFilesState(pool, producer, facts(h.share, h.installed));
    expect(state).toEqual({ configMatches: true, differingKeys: [], restartPending: false, genesisMatches: true, problems: [] });
  });

  test("a config that is not release + overlay names the keys that differ and the remedy", () => {
    const h = hostFiles((c) => {
      c.PeerSharing = true; // the overlay turns it off on producers
      delete c.ConsensusMode; // the release's
    });
    const state = nodeFilesState(pool, producer, facts(h.share, h.installed));
    expect(state.configMatches).toBe(false);
    expect(state.differingKeys).toEqual(["ConsensusMode", "PeerSharing"]);
    expect(state.genesisMatches).toBe(true);
    expect(state.problems).toEqual(["its config.json is not the release's config plus the pool's overlay (differs at ConsensusMode, PeerSharing) (pool-ops push-config --hosts producer-1)"]);
    // A producer's config on a relay differs besides by the relay's name and metrics address.
    expect(nodeFilesState(pool, { name: "relay-1", role: "relay", privateIp: "10.40.0.10" }, facts(h.share, h.installed)).differingKeys).toEqual(["ConsensusMode", "PeerSharing", "TraceOptionNodeName", "TraceOptions"]);
  });

  test("a genesis file the config names that does not hash to the pool's is a mismatch; so is a config naming another hash", () => {
    const h = hostFiles();
    // The installed config names a copy of the Shelley genesis outside the release: its hash is what the node checks.
    const copy = join(h.root, "shelley-genesis.json");
    copyFileSync(join(h.share, "shelley-genesis.json"), copy);
    writeFileSync(copy, readFileSync(copy, "utf8").replace('"securityParam": 2160', '"securityParam": 2161'));
    const config = JSON.parse(readFileSync(h.installed, "utf8")) as Record<string, unknown>;
    writeFileSync(h.installed, JSON.stringify({ ...config, ShelleyGenesisFile: copy }));
    const state = nodeFilesState(pool, producer, facts(h.share, h.installed));
    expect(state.genesisMatches).toBe(false);
    expect(state.differingKeys).toEqual(["ShelleyGenesisFile"]);
    expect(state.problems.join("\n")).toMatch(/genesis: its Shelley genesis file hashes to [0-9a-f]{64}; the pool's preprod genesis is Byron [0-9a-f]{8}…/);
    // Naming a hash other than the pool's is a mismatch too (the node would check the file against that one).
    writeFileSync(h.installed, JSON.stringify({ ...config, ConwayGenesisHash: "00".repeat(32) }));
    expect(nodeFilesState(pool, producer, facts(h.share, h.installed)).problems.join("\n")).toMatch(/config.json names ConwayGenesisHash 0{64}/);
  });

  test("a release that cannot run the pool is reported as such, not as a config difference", () => {
    const h = hostFiles();
    rmSync(join(h.share, "peer-snapshot.json"));
    const state = nodeFilesState(pool, producer, facts(h.share, h.installed));
    expect(state.configMatches).toBe(false);
    expect(state.problems[0]).toMatch(/its installed release cannot run this pool: .* lacks peer-snapshot.json/);
  });

  test("a node started before its config.json last changed runs an older file: restart pending", async () => {
    const h = hostFiles();
    // A process given `--config <file>`, as systemd starts cardano-node (`cardano-node run --config … $NODE_ARGS`).
    const node = spawn("python3", ["-c", "import sys; sys.stdin.read()", "run", "--config", h.installed], { stdio: ["pipe", "ignore", "ignore"] });
    children.push(node);
    await new Promise((resolve) => node.on("spawn", resolve));
    const now = Date.now() / 1000;
    utimesSync(h.installed, now - 60, now - 60);
    const before = facts(h.share, h.installed);
    expect(before.installed!.nodeStartedAt).toBeGreaterThan(now - 60);
    expect(nodeFilesState(pool, producer, before).restartPending).toBe(false);
    utimesSync(h.installed, now + 60, now + 60);
    const after = nodeFilesState(pool, producer, facts(h.share, h.installed));
    expect(after.restartPending).toBe(true);
    expect(after.configMatches).toBe(true);
    expect(after.problems).toEqual(["its node started before config.json last changed and runs an older one: restart it (pool-ops push-config restarts after a change)"]);
    node.kill("SIGKILL");
  });
});
