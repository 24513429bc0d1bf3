/**
 * `pool-ops push-config` on the lab (SSM leader record on the emulator), run as an operator types it: a first push
 * writes every node's files, a second touches nothing, an address change shows in exactly the right diffs, an
 * unhealthy relay stops the roll with its files restored, and bad values are refused before any host is touched.
 * And root never follows a link the node user plants (issue 20): with the node's files root's, the node cannot plant
 * a name in any directory a push writes to; on a host with the layout older images made (the node's home and
 * config/ its own), a link planted at each step of a push — the file read and replaced, the backup directory, a
 * directory on the path, the file a restore puts back, the staging names while the push runs — is refused, and the
 * root-owned file it points at stays untouched.
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse as parseYaml, stringify as stringifyYaml } from "yaml";
import { hostLayout, nodeFileModes } from "../../config/host-layout";
import { LAB_SKIP, LAB_SKIP_NOTE, runPoolOps, useLab } from "../../lab/harness";
import { faultFile, hostPath } from "../../lab/lab-hosts";
import { provisionLabPool, type ProvisionedPool } from "../../lab/pool-provision";
import { metricValue, readNodeMetrics } from "../pool/node-metrics";
import { releaseNetworkDir } from "../pool/release-facts";
import type { Connection } from "../remote/connection";
import { shellQuote as q } from "../remote/shell";

const skip = LAB_SKIP;
const NODES = ["relay-1", "relay-2", "relay-3", "relay-4", "producer-1", "producer-2"];

// A push rolls over six nodes, each restarted and health-gated in turn (the pushes' own bound: PUSH_DEADLINE_MS).
const PUSH_DEADLINE_MS = 120_000;
/**
 * The push's health gate: how long a reloaded node may take to answer on its metrics port again. 4 s was too short on
 * a loaded machine (CI saw the standby not answering within it, then its restore judged the same way); the cases with
 * a node that stays unhealthy wait it out twice (push, then restore), well inside PUSH_DEADLINE_MS.
 */
const HEALTH_GATE_SECONDS = 20;

describe.skipIf(skip)(`push-config on the lab${LAB_SKIP_NOTE}`, { timeout: PUSH_DEADLINE_MS + 10_000 }, () => {
  const lab = useLab();
  let pool: ProvisionedPool;
  let baseConfig: string;

  beforeAll(async () => {
    pool = await provisionLabPool(lab());
    baseConfig = `${readFileSync(lab().files.poolConfig, "utf8")}pushConfig:\n  healthTimeoutSeconds: ${HEALTH_GATE_SECONDS}\n`;
    writeFileSync(lab().files.poolConfig, baseConfig);
  }, 120_000);
  afterAll(async () => {
    await pool?.fleet.close();
  });

  const push = (args: string[] = []) => runPoolOps(lab(), ["push-config", "--yes", "--aws-endpoint", lab().awsEndpoint, ...args], { timeoutMs: PUSH_DEADLINE_MS });
  const layoutOf = () => hostLayout(pool.config);
  const mtimes = () => Object.fromEntries(NODES.map((h) => [h, [layoutOf().topology, layoutOf().nodeConfig, layoutOf().environmentFile].map((p) => statSync(hostPath(lab(), h, p)).mtimeMs)]));
  async function nodeFacts(host: string) {
    const m = await readNodeMetrics(pool.fleet.connection(host), layoutOf().nodeConfig, 12798);
    return { reloads: m && metricValue(m, "cardano_node_lab_reloads_counter"), started: m && metricValue(m, "nodeStartTime"), forging: m && metricValue(m, "forging_enabled") };
  }

  it("a push writes every node's missing files in rolling order and leaves the leader forging", async () => {
    // Provisioning wrote what push-config renders: take a file away from every host so the push has work.
    for (const host of NODES) rmSync(hostPath(lab(), host, layoutOf().topology));
    const r = await push();
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    for (const host of NODES) {
      const topology = JSON.parse(readFileSync(hostPath(lab(), host, layoutOf().topology), "utf8"));
      expect(topology.localRoots.length, host).toBeGreaterThan(0);
      expect(readFileSync(hostPath(lab(), host, layoutOf().unitFile), "utf8")).toContain("EnvironmentFile=/opt/cardano/config/cardano-node.env");
    }
    expect(r.stdout.indexOf("relay-4: written")).toBeLessThan(r.stdout.indexOf("producer-2: written"));
    expect(r.stdout.indexOf("producer-2: written")).toBeLessThan(r.stdout.indexOf("producer-1: written"));
    expect((await nodeFacts("producer-1")).forging).toBe(1);
    expect((await nodeFacts("producer-2")).forging).toBe(0);
  });

  it("a second push reports no changes and touches no host", async () => {
    const before = mtimes();
    const facts = await Promise.all(NODES.map(nodeFacts));
    const r = await push();
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("every host already has its files: nothing to do");
    expect(mtimes()).toEqual(before);
    expect(await Promise.all(NODES.map(nodeFacts))).toEqual(facts);
  });

  it("changing one relay's address changes exactly the topologies that list it, shown before anything is written", async () => {
    writeFileSync(lab().files.poolConfig, `${baseConfig}topology:\n  addresses:\n    relay-3: relay3.example.org\n`);
    const before = mtimes();
    const r = await runPoolOps(lab(), ["push-config", "--dry-run", "--json", "--aws-endpoint", lab().awsEndpoint]);
    expect(r.code, r.stderr).toBe(0);
    const plan = r.json<{ hosts: { host: string; changed: { path: string; diff: string }[] }[] }>();
    const changed = plan.hosts.filter((h) => h.changed.length > 0);
    expect(changed.map((h) => h.host)).toEqual(["relay-1", "relay-2", "relay-4", "producer-1", "producer-2"]);
    for (const h of changed) {
      // The topology, and the overlay every boot composes it from.
      expect(h.changed.map((c) => c.path)).toEqual([layoutOf().topology, `${layoutOf().bootDir}/topology.overlay.json`]);
      expect(h.changed[0]!.diff).toMatch(/\+\s+"address": "relay3.example.org"/);
    }
    expect(mtimes()).toEqual(before);
  });

  it("a relay failing its health check stops the roll there, gets its files back, and the rest stay untouched", async () => {
    const extras = mkdtempSync(join(tmpdir(), "push-extras-"));
    mkdirSync(join(extras, "host", "relay-2", "opt", "cardano", "lab"), { recursive: true });
    writeFileSync(join(extras, "host", "relay-2", "opt", "cardano", "lab", "slot-lag"), "5000\n");
    writeFileSync(lab().files.poolConfig, `${baseConfig.replace("pushConfig:\n", `pushConfig:\n  extraFilesDir: ${extras}\n`)}topology:\n  addresses:\n    relay-3: relay3.example.org\n`);
    const before = mtimes();
    const topologyBefore = readFileSync(hostPath(lab(), "relay-2", layoutOf().topology), "utf8");
    const r = await push();
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/relay-1: written, reloaded, healthy/);
    expect(r.stdout).toMatch(/relay-2: FAILED: unhealthy after reload: not synced: \d+ slots behind/);
    expect(r.stderr).toMatch(/the roll stopped after relay-2; not touched: relay-4, producer-1, producer-2/);
    // relay-2: its topology is the old one again and the injected file is gone.
    expect(readFileSync(hostPath(lab(), "relay-2", layoutOf().topology), "utf8")).toBe(topologyBefore);
    expect(() => statSync(faultFile(lab(), "relay-2", "slot-lag"))).toThrow();
    const after = mtimes();
    for (const host of ["relay-4", "producer-1", "producer-2"]) expect(after[host], host).toEqual(before[host]);
    expect(after["relay-1"]).not.toEqual(before["relay-1"]);
  }, 60_000);

  it("bad values are refused before any host is touched", async () => {
    const before = mtimes();
    writeFileSync(lab().files.poolConfig, `${baseConfig}topology:\n  addresses:\n    relay-9: 10.9.9.9\n`);
    const unknown = await push();
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/topology.addresses.relay-9: no such host in the inventory/);
    expect(unknown.stderr).toMatch(/nothing was written to any host/);
    const doc = parseYaml(baseConfig) as { relays: Record<string, unknown> };
    doc.relays.port = "30x1";
    writeFileSync(lab().files.poolConfig, stringifyYaml(doc));
    const port = await push();
    expect(port.code).toBe(2);
    expect(port.stderr).toMatch(/relays.port: expected an integer/);
    expect(mtimes()).toEqual(before);
    writeFileSync(lab().files.poolConfig, baseConfig);
  });

  it("a host whose installed release lacks its node files, or whose genesis is not the pool's, is refused before any host is touched", async () => {
    writeFileSync(lab().files.poolConfig, `${baseConfig}topology:\n  addresses:\n    relay-3: relay3b.example.org\n`);
    const before = mtimes();
    const relay3 = pool.fleet.connection("relay-3");
    const share = releaseNetworkDir(pool.config);
    await relay3.runChecked(`mv ${share}/conway-genesis.json ${share}/conway-genesis.json.away`);
    try {
      const r = await push();
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/relay-3: the installed release cannot run this pool .*lacks conway-genesis\.json/);
      expect(r.stderr).toMatch(/refused, nothing was written to any host/);
      expect(mtimes()).toEqual(before);
    } finally {
      await relay3.runChecked(`mv ${share}/conway-genesis.json.away ${share}/conway-genesis.json`);
    }
    await relay3.runChecked(`cp -p ${share}/shelley-genesis.json /tmp/shelley.keep && echo '{}' > ${share}/shelley-genesis.json`);
    try {
      const r = await push();
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/relay-3: .*its Shelley genesis file hashes to [0-9a-f]{64}, expected/);
      expect(mtimes()).toEqual(before);
    } finally {
      await relay3.runChecked(`cp -p /tmp/shelley.keep ${share}/shelley-genesis.json`);
      writeFileSync(lab().files.poolConfig, baseConfig);
    }
  });
  describe("no link the node user plants is ever followed by root during a push", () => {
    const id = randomBytes(4).toString("hex");
    const victim = `/var/tmp/pool-ops-victim-${id}`; // root's, outside the node's files (as /etc/sudoers is)
    const victimDir = `/var/tmp/pool-ops-victim-dir-${id}`;
    let relay: Connection;
    let pristine = "";
    const asNode = (script: string, timeoutSeconds = 30) => relay.run(`exec sudo -n -u ${q(pool.config.node.user)} -- sh -c ${q(script)}`, { timeoutSeconds });
    const victimState = async () => (await relay.runChecked(`sha256sum ${q(victim)} | cut -d ' ' -f 1; stat -c '%U:%G:%a' ${q(victim)}; ls -A ${q(victimDir)} | wc -l`)).stdout.toString();
    /** A push with work for relay-1 alone: another address for relay-3 changes its topology and topology overlay. */
    let round = 0;
    const pushRelay1 = (extraConfig = "") => {
      writeFileSync(lab().files.poolConfig, `${baseConfig.replace("pushConfig:\n", `pushConfig:\n${extraConfig}`)}topology:\n  addresses:\n    relay-3: relay3-${id}-${++round}.example.org\n`);
      return push(["-H", "relay-1"]);
    };
    const topology = () => readFileSync(hostPath(lab(), "relay-1", layoutOf().topology), "utf8");

    beforeAll(async () => {
      relay = pool.fleet.connection("relay-1");
      await relay.runChecked(`printf 'root only\\n' > ${q(victim)} && chmod 0640 ${q(victim)} && install -d -m 0700 ${q(victimDir)}`);
      pristine = await victimState();
    });
    afterAll(async () => {
      await relay?.run(`rm -rf ${q(victim)} ${q(victimDir)}`).catch(() => undefined);
      writeFileSync(lab().files.poolConfig, baseConfig);
    });

    it("with the node's files root's, the node user cannot plant a name in any directory a push writes to", async () => {
      const layout = layoutOf();
      await push(); // every host has the base config's files; the backup directory exists
      const dirs = [layout.home, layout.configDir, layout.bootDir, layout.backupDir, "/etc/systemd/system"];
      expect((await relay.runChecked(`stat -c '%U:%G:%a' ${dirs.slice(0, 4).map(q).join(" ")}`)).stdout.toString().split("\n").filter(Boolean)).toEqual(["root:root:755", "root:cardano:750", "root:cardano:750", "root:root:700"]);
      for (const dir of dirs) {
        const r = await asNode(`ln -s ${q(victim)} ${q(`${dir}/planted`)}`);
        expect(r.exitCode, dir).not.toBe(0);
        expect(r.stderr, dir).toMatch(/Permission denied/);
      }
      // Nor replace or rewrite a file it runs with.
      expect((await asNode(`ln -sfn ${q(victim)} /tmp/l-${id} && mv -f /tmp/l-${id} ${q(layout.topology)}`)).exitCode).not.toBe(0);
      expect((await asNode(`echo '{}' > ${q(layout.environmentFile)}`)).exitCode).not.toBe(0);
      expect(await victimState()).toBe(pristine);
    });

    describe("on a host with the layout older images made: the node's home and config/ its own", () => {
      const layout = () => layoutOf();
      beforeAll(async () => {
        await relay.runChecked(`chown ${q(pool.config.node.user)}:${q(pool.config.node.group)} ${q(layout().home)} ${q(layout().configDir)} && chmod 0755 ${q(layout().home)} ${q(layout().configDir)}`);
      });
      afterAll(async () => {
        // Back to the layout this change makes, and the pool's own files.
        await relay?.run(`chown root:root ${q(layout().home)} && chown root:${q(pool.config.node.group)} ${q(layout().configDir)} && chmod 0750 ${q(layout().configDir)}`);
        writeFileSync(lab().files.poolConfig, baseConfig);
        await push();
      });

      it("a link at the file the push reads and replaces: refused before anything is written", async () => {
        const before = topology();
        expect((await asNode(`cd ${q(layout().configDir)} && ln -s ${q(victim)} t.link && cp topology.json topology.keep && mv -f t.link topology.json`)).exitCode).toBe(0);
        const r = await pushRelay1();
        expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(1);
        expect(r.stderr).toMatch(/relay-1.*refused for safety: .*topology\.json is a symbolic link/);
        expect(await victimState()).toBe(pristine);
        await asNode(`cd ${q(layout().configDir)} && mv -f topology.keep topology.json`);
        expect(topology()).toBe(before);
      });

      it("a link at the backup directory: the backup refuses, nothing is written, the restore refuses too", async () => {
        const before = topology();
        expect((await asNode(`cd ${q(layout().home)} && mv backup backup.away && ln -s ${q(victimDir)} backup`)).exitCode).toBe(0);
        try {
          const r = await pushRelay1();
          expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(1);
          expect(r.stdout).toMatch(/relay-1: FAILED: refused for safety: .*\/backup is a symbolic link or not a directory: refusing to follow it.*could NOT restore/);
          expect(await victimState()).toBe(pristine);
          expect(topology()).toBe(before);
        } finally {
          await asNode(`cd ${q(layout().home)} && rm backup && mv backup.away backup`);
        }
      });

      it("a link at a directory on the path (where an extra file goes): refused, nothing written through it", async () => {
        const before = topology();
        const dir = `${layout().home}/extra-${id}`;
        const extras = mkdtempSync(join(tmpdir(), "push-extras-"));
        mkdirSync(join(extras, "host", "relay-1", dir.slice(1)), { recursive: true });
        writeFileSync(join(extras, "host", "relay-1", dir.slice(1), "sudoers"), "cardano ALL=(ALL) NOPASSWD: ALL\n");
        expect((await asNode(`ln -s ${q(victimDir)} ${q(dir)}`)).exitCode).toBe(0);
        try {
          const r = await pushRelay1(`  extraFilesDir: ${extras}\n`);
          expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(1);
          expect(r.stderr).toContain(`relay-1: read ${dir}/sudoers: refused for safety: ${dir} is a symbolic link or not a directory: refusing to follow it`);
          expect(await victimState()).toBe(pristine);
          expect(topology()).toBe(before);
        } finally {
          await asNode(`rm -f ${q(dir)}`);
          rmSync(extras, { recursive: true, force: true });
        }
      });

      it("a link at the file a restore puts back (planted once the new file is written, while the health gate waits): the restore refuses", async () => {
        const before = topology();
        const extras = mkdtempSync(join(tmpdir(), "push-extras-"));
        mkdirSync(join(extras, "host", "relay-1", "opt", "cardano", "lab"), { recursive: true });
        writeFileSync(join(extras, "host", "relay-1", "opt", "cardano", "lab", "slot-lag"), "5000\n"); // unhealthy after the push
        const marker = `relay3-${id}-${round + 1}.example.org`;
        const racer = asNode(
          [
            `cd ${q(layout().configDir)} || exit 1`,
            "end=$(( $(date +%s) + 60 ))",
            `until grep -q ${q(marker)} topology.json 2>/dev/null; do [ "$(date +%s)" -lt "$end" ] || { echo "never saw the new topology"; exit 1; }; sleep 0.05; done`,
            // After the reload the push sends right after its writes, within the 4 s the health gate waits.
            "sleep 1",
            `ln -s ${q(victim)} t.link && mv -f t.link topology.json && echo planted`,
          ].join("\n"),
          70,
        );
        try {
          const r = await pushRelay1(`  extraFilesDir: ${extras}\n`);
          expect((await racer).stdout.toString()).toContain("planted");
          expect(r.code).toBe(1);
          expect(r.stdout).toMatch(/relay-1: FAILED: unhealthy after reload: .*could NOT restore: refused for safety: .*topology\.json is a symbolic link: refusing to restore onto it/);
          expect(await victimState()).toBe(pristine);
        } finally {
          await relay.run(`rm -f ${q(layout().topology)} ${q(`${layout().home}/lab/slot-lag`)}`);
          await relay.put(layout().topology, before, { ...nodeFileModes(pool.config).readOnlyFile, backup: false });
          rmSync(extras, { recursive: true, force: true });
        }
      }, 90_000);

      it("a node racing a whole push — links at every staging name, the files being replaced swapped for links — changes nothing of root's", async () => {
        const before = topology();
        const racer = asNode(
          [
            `cd ${q(layout().configDir)} || exit 1`,
            "cp topology.json topology.keep || exit 1",
            "end=$(( $(date +%s) + 12 )); n=0",
            'while [ "$(date +%s)" -lt "$end" ]; do',
            "  for s in .pool-ops-staging.* boot/.pool-ops-staging.*; do",
            '    [ -e "$s" ] || continue; n=$((n+1))',
            `    ln -sf ${q(victim)} "$s/f0" 2>/dev/null; ln -sf ${q(victim)} "$s/f1" 2>/dev/null`,
            "  done",
            `  ln -sfn ${q(victim)} t.link && mv -f t.link topology.json && cp topology.keep t.file && mv -f t.file topology.json`,
            "done",
            'echo "saw $n staging names"',
          ].join("\n"),
          30,
        );
        const outcomes: string[] = [];
        for (let i = 0; i < 2; i++) {
          const r = await pushRelay1();
          outcomes.push(r.code === 0 ? "pushed" : /refused for safety/.test(`${r.stdout}${r.stderr}`) ? "refused" : `other: ${r.stdout}${r.stderr}`);
        }
        expect((await racer).stdout.toString()).toMatch(/saw \d+ staging names/);
        expect(outcomes.filter((o) => o.startsWith("other"))).toEqual([]);
        expect(await victimState()).toBe(pristine);
        await relay.run(`rm -f ${q(layout().topology)} ${q(`${layout().configDir}/topology.keep`)} ${q(`${layout().configDir}/t.link`)} ${q(`${layout().configDir}/t.file`)}`);
        await relay.put(layout().topology, before, { ...nodeFileModes(pool.config).readOnlyFile, backup: false });
      }, 120_000);
    });
  });
});
