/**
 * `pool-ops rotate-kes` on the lab (real OpenSSH hosts, node stand-ins) with Secrets Manager and SSM on the moto
 * emulator, run as an operator types it. Faults: the leader refuses the new cert, the standby's link drops between
 * the two pushes, Ctrl-C at each step, Secrets Manager gone before signing. Every fault must end with the pool forging
 * on the old pair; the cold key's bytes must appear nowhere.
 */
import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hostLayout } from "../../config/host-layout";
import { labFleet, LAB_SKIP, LAB_SKIP_NOTE, runPoolOps, startPausedPoolOps, useLab } from "../../lab/harness";
import { setOperatorAwsReachable, type LabState } from "../../lab/lab";
import { faultFile, hostPath, setLink } from "../../lab/lab-hosts";
import { provisionLabPool, type ProvisionedPool } from "../../lab/pool-provision";
import { awsClientSettings } from "../aws/client-config";
import { bytesToHex, kesPeriodAt, readOpcertCounter, readOperationalCertificate, verifyOperationalCertificate } from "../cardano";
import { metricValue, readNodeMetrics } from "../pool/node-metrics";

const skip = LAB_SKIP;
const PERIOD = kesPeriodAt(new Date(), "preprod");

interface Harness {
  lab: () => LabState;
  pool: () => ProvisionedPool;
  stateDir: string;
  /** Fresh test connections (after a link cut, the old ones are lost for good). */
  reconnect: () => Promise<void>;
}

/**
 * One lab for the whole file: each group below provisions it again with a key set of its own (keys imported, the
 * producers rebooted, as an operator re-keying a pool would), which costs a reboot instead of a lab's first boot.
 * Each group leaves the pool forging on a consistent pair (its tests end on the old pair or on a verified new one).
 */
const lab = useLab();

/** The lab's pool provisioned afresh: a cert started a few KES periods ago (so a rotation has work to do). */
function usePool(extraConfig = ""): Harness {
  let pool: ProvisionedPool;
  let configBefore: string | undefined;
  const stateDir = mkdtempSync(join(tmpdir(), "pool-ops-state-"));
  beforeAll(async () => {
    configBefore = readFileSync(lab().files.poolConfig, "utf8");
    if (extraConfig) writeFileSync(lab().files.poolConfig, `${configBefore}${extraConfig}`);
    pool = await provisionLabPool(lab(), { kesPeriod: PERIOD - 3, counter: 4 });
  }, 120_000);
  afterAll(async () => {
    await pool?.fleet.close();
    // The next group's pool config is the lab's own again, whatever this group's tests added to it.
    if (configBefore !== undefined) writeFileSync(lab().files.poolConfig, configBefore);
    rmSync(stateDir, { recursive: true, force: true });
  });
  const reconnect = async () => {
    await pool.fleet.close();
    pool = { ...pool, fleet: await labFleet(lab()) };
  };
  return { lab, pool: () => pool, stateDir, reconnect };
}

/** A rotation's own bound: one that fails verification waits for the node's verdict, then rolls both producers back. */
const ROTATION_DEADLINE_MS = 90_000;

function rotate(h: Harness, args: string[] = [], env: Record<string, string> = {}) {
  return runPoolOps(h.lab(), ["rotate-kes", "--yes", "--aws-endpoint", h.lab().awsEndpoint, ...args], { env: { POOL_OPS_STATE_DIR: h.stateDir, ...env }, timeoutMs: ROTATION_DEADLINE_MS });
}

async function leaderState(h: Harness) {
  const pool = h.pool();
  const m = await readNodeMetrics(pool.fleet.connection(pool.leader), hostLayout(pool.config).nodeConfig, pool.config.node.metricsPort);
  return { forging: m && metricValue(m, "forging_enabled"), start: m && metricValue(m, "operationalCertificateStartKESPeriod"), counter: m && metricValue(m, "cardano_node_lab_opcert_counter_int") };
}

async function secretValue(h: Harness, key: "opcert" | "opcertCounter" | "kesSigningKey"): Promise<string> {
  const client = new SecretsManagerClient(awsClientSettings({ region: "eu-west-1", endpoint: h.lab().awsEndpoint }));
  try {
    return (await client.send(new GetSecretValueCommand({ SecretId: h.pool().inventory.secrets[key] }))).SecretString!;
  } finally {
    client.destroy();
  }
}

/** The cert each producer holds (leader: active path, standby: held path). */
async function certsOnHosts(h: Harness) {
  const pool = h.pool();
  const layout = hostLayout(pool.config);
  const read = async (host: string, path: string) => readOperationalCertificate((await pool.fleet.connection(host).readText(path))!, path);
  return { leader: await read(pool.leader, layout.activeCredentials.opcert), standby: await read(pool.standby, layout.heldCredentials.opcert) };
}

/** Expect the pool exactly as provisioned: leader forging on the old pair, secrets unchanged, standby not forging. */
async function expectOldPair(h: Harness) {
  const pool = h.pool();
  const state = await leaderState(h);
  expect(state).toMatchObject({ forging: 1, start: PERIOD - 3, counter: 4 });
  const certs = await certsOnHosts(h);
  expect([certs.leader.kesPeriod, certs.leader.counter, certs.standby.kesPeriod, certs.standby.counter]).toEqual([PERIOD - 3, 4, PERIOD - 3, 4]);
  expect((await secretValue(h, "opcert")).trim()).toBe(pool.keys.opcert.trim());
  expect(readOpcertCounter(await secretValue(h, "opcertCounter"), "counter").next).toBe(5);
  const standby = await readNodeMetrics(pool.fleet.connection(pool.standby), hostLayout(pool.config).nodeConfig, pool.config.node.metricsPort);
  expect(standby && metricValue(standby, "forging_enabled")).toBe(0);
}

/** Starts rotate-kes held at a checkpoint; resolves once it says it is paused there. */
function pausedRotation(h: Harness, step: string) {
  return startPausedPoolOps(h.lab(), ["rotate-kes", "--yes", "--aws-endpoint", h.lab().awsEndpoint], step, { POOL_OPS_STATE_DIR: h.stateDir });
}

/** Every file under `dir` (bounded size), for the cold-key search. */
function filesUnder(dir: string, since = 0, out: string[] = []): string[] {
  if (!existsSync(dir)) return out;
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return out; // removed or unreadable meanwhile (another process's temp dir)
  }
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) filesUnder(path, since, out);
    else if (entry.isFile()) {
      const st = statSync(path, { throwIfNoEntry: false });
      if (st && st.size < 20_000_000 && st.mtimeMs >= since) out.push(path);
    }
  }
  return out;
}

describe.skipIf(skip)(`rotate-kes on the lab${LAB_SKIP_NOTE}`, { timeout: ROTATION_DEADLINE_MS + 10_000 }, () => {
  const h = usePool();
  const started = Date.now();
  let output = "";

  it("--dry-run shows period, counter, expiry, hosts and files, and changes nothing", async () => {
    const r = await runPoolOps(h.lab(), ["rotate-kes", "--dry-run", "--aws-endpoint", h.lab().awsEndpoint], { env: { POOL_OPS_STATE_DIR: h.stateDir } });
    output += r.stdout + r.stderr;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`KES period ${PERIOD}, counter 4`);
    expect(r.stdout).toMatch(/re-using the current cert's 4/);
    expect(r.stdout).toMatch(/valid until \d{4}-\d\d-\d\d \d\d:\d\d UTC/);
    expect(r.stdout).toContain("/opt/cardano/keys/standby/node.cert");
    expect(r.stdout).toContain("dry run: nothing changed");
    await expectOldPair(h);
  });

  it("rotates: the leader forges with the new cert, both producers hold it, the counter secret follows the rule", async () => {
    const r = await rotate(h);
    output += r.stdout + r.stderr;
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toMatch(/expires \d{4}-\d\d-\d\d \d\d:\d\d UTC: \d+ days left; the previous pair is removed from every producer/);
    expect(await leaderState(h)).toMatchObject({ forging: 1, start: PERIOD, counter: 4 });
    const certs = await certsOnHosts(h);
    const coldVk = h.pool().keys.cold.verificationKey;
    for (const cert of [certs.leader, certs.standby]) {
      expect(cert).toMatchObject({ kesPeriod: PERIOD, counter: 4 });
      expect(verifyOperationalCertificate(cert, coldVk)).toBe(true);
    }
    expect(bytesToHex(certs.leader.kesVerificationKey)).toBe(bytesToHex(certs.standby.kesVerificationKey));
    // Counter unknown on chain: the cert re-uses 4, so the next issue number stays 5.
    expect(readOpcertCounter(await secretValue(h, "opcertCounter"), "counter").next).toBe(5);
    expect((await secretValue(h, "opcert")).trim()).not.toBe(h.pool().keys.opcert.trim());
    // The standby keeps not forging: its copy is held aside, its node was not reloaded.
    const standby = await readNodeMetrics(h.pool().fleet.connection(h.pool().standby), hostLayout(h.pool().config).nodeConfig, 12798);
    expect(standby && metricValue(standby, "forging_enabled")).toBe(0);
    expect(standby && metricValue(standby, "cardano_node_lab_reloads_counter")).toBe(0);
    expect(readFileSync(join(h.lab().dir, "audit.log"), "utf8")).toMatch(/rotate-kes/);
  });

  it("a second rotation in the same KES period has nothing to do", async () => {
    const r = await rotate(h);
    output += r.stdout + r.stderr;
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/nothing to do: the cert already starts at the current KES period \d+ \(expires [^)]+\), every copy of the pair agrees \(leader, standby, secrets\) and the leader's node runs it/);
  });

  it("kes status shows both producers' certs and exits 2 only under the warning threshold", async () => {
    const ok = await runPoolOps(h.lab(), ["kes", "status", "--json"]);
    expect(ok.code, ok.stderr).toBe(0);
    const status = ok.json<{ producers: { host: string; counter: number; startPeriod: number; daysLeft: number; node?: { forging: number } }[] }>();
    expect(status.producers.map((p) => [p.host, p.counter, p.startPeriod])).toEqual([["producer-1", 4, PERIOD], ["producer-2", 4, PERIOD]]);
    expect(status.producers.find((p) => p.host === h.pool().leader)?.node?.forging).toBe(1);
    writeFileSync(h.lab().files.poolConfig, `${readFileSync(h.lab().files.poolConfig, "utf8")}kes:\n  warnDays: 120\n`);
    const warn = await runPoolOps(h.lab(), ["kes", "status"]);
    expect(warn.code).toBe(2);
    expect(warn.stdout).toMatch(/fewer than 120 days left: pool-ops rotate-kes/);
  });

  it("the cold signing key's bytes appear in no host file, temp or state file, audit log or output", () => {
    const sk = h.pool().keys.cold.signingKey;
    const hex = bytesToHex(sk);
    const needles = [Buffer.from(hex), Buffer.from(hex.toUpperCase()), Buffer.from(`5820${hex}`), Buffer.from(sk), Buffer.from(sk).toString("base64")].map((n) => (typeof n === "string" ? Buffer.from(n) : n));
    expect(output.length).toBeGreaterThan(100);
    for (const needle of needles) expect(Buffer.from(output).includes(needle)).toBe(false);
    // The lab's machines' disks are under its dir; their /tmp and /run are memory: searched through the machines.
    const memory = h.lab().hosts.flatMap((host) => ["/tmp", "/run", "/dev/shm"].flatMap((dir) => filesUnder(hostPath(h.lab(), host.name, dir))));
    const files = [...filesUnder(h.lab().dir), ...memory, ...filesUnder(h.stateDir), ...filesUnder(tmpdir(), started).filter((f) => !f.includes("pool-emulator"))];
    expect(files.length).toBeGreaterThan(20);
    for (const file of files) {
      let content: Buffer;
      try {
        content = readFileSync(file);
      } catch (error) {
        // Other processes' temp files come and go while the search runs.
        if ((error as NodeJS.ErrnoException).code === "ENOENT") continue;
        throw error;
      }
      for (const needle of needles) expect(content.includes(needle), `${file} holds the cold key`).toBe(false);
    }
  });
});

describe.skipIf(skip)(`rotate-kes faults: every one ends on the old pair${LAB_SKIP_NOTE}`, { timeout: ROTATION_DEADLINE_MS + 10_000 }, () => {
  const h = usePool();

  it("the leader's node refuses the new cert: backups back, reloaded, forging on the old pair, secrets restored", async () => {
    const refuse = faultFile(h.lab(), h.pool().leader, "refuse-credentials");
    writeFileSync(refuse, "");
    try {
      const r = await rotate(h);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/verify failed: the node did not take the new cert/);
      expect(r.stderr).toMatch(/forging again with the previous cert \(counter 4\)/);
      expect(r.stderr).toMatch(/secrets: previous KES key, op cert and counter restored/);
    } finally {
      rmSync(refuse, { force: true });
    }
    await expectOldPair(h);
  });

  for (const step of ["read-cold-key", "push-producer-1", "push-producer-2", "update-secrets", "reload", "verify"]) {
    it(`Ctrl-C at ${step}: rolled back, exit 3, the old pair forging`, async () => {
      const run = pausedRotation(h, step);
      await run.paused;
      run.child.kill("SIGINT");
      await new Promise((resolve) => setTimeout(resolve, 300));
      run.child.kill("SIGUSR2");
      const r = await run.done;
      expect(r.code, r.stderr).toBe(3);
      expect(r.stderr).toContain(`interrupted (Ctrl-C) before ${step}`);
      await expectOldPair(h);
    });
  }

  it("the standby's link drops between the two pushes: the leader is restored and never reloaded", async () => {
    const run = pausedRotation(h, `push-${h.pool().standby}`);
    await run.paused;
    setLink(h.lab(), h.pool().standby, false);
    try {
      run.child.kill("SIGUSR2");
      const r = await run.done;
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(new RegExp(`${h.pool().leader}: previous KES key and op cert restored`));
      expect(r.stderr).toMatch(/never reloaded, so it kept forging with the previous cert/);
    } finally {
      setLink(h.lab(), h.pool().standby, true);
      // The test's own connection to the standby may have timed out while its link was down.
      await h.reconnect();
    }
    await expectOldPair(h);
  }, 60_000);

  it("Secrets Manager unavailable before signing: nothing changes and it says so", async () => {
    const run = pausedRotation(h, "read-cold-key");
    await run.paused;
    await setOperatorAwsReachable(h.lab(), false);
    run.child.kill("SIGUSR2");
    const r = await run.done.finally(() => setOperatorAwsReachable(h.lab(), true));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/read the cold key|could not read/);
    expect(r.stderr).toMatch(/nothing had been changed/);
    expect(await leaderState(h)).toMatchObject({ forging: 1, start: PERIOD - 3, counter: 4 });
    // Nor could it give the pool's lease back (the lease lives in AWS too): it says so, and the lease stays until its
    // TTL. Its holder has ended, so the operator's remedy is lock break, which the next command would otherwise wait for.
    expect(r.stderr).toMatch(/could not release the pool's lease .*it lapses by itself within \d+ s/);
    const status = await runPoolOps(h.lab(), ["--aws-endpoint", h.lab().awsEndpoint, "lock", "status"]);
    expect(status.stdout).toMatch(/: held by \S+ pid \d+ running rotate-kes since /);
    const broken = await runPoolOps(h.lab(), ["--aws-endpoint", h.lab().awsEndpoint, "lock", "break", "--yes"]);
    expect(broken.code, broken.stdout + broken.stderr).toBe(0);
  }, 60_000);
});

describe.skipIf(skip)(`rotate-kes with the chain's counter known${LAB_SKIP_NOTE}`, { timeout: ROTATION_DEADLINE_MS + 10_000 }, () => {
  // The chain last saw counter 4 (a block was made with the current cert): the new cert takes 5, the next is 6.
  const h = usePool("kes:\n  onChainCounterCommand: echo 4\n");

  it("issues m + 1 and advances the counter secret by one", async () => {
    const r = await rotate(h);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/the chain last saw counter 4: the new cert takes 5/);
    expect(await leaderState(h)).toMatchObject({ forging: 1, start: PERIOD, counter: 5 });
    expect(readOpcertCounter(await secretValue(h, "opcertCounter"), "counter").next).toBe(6);
  });

  it("--revoke while the current cert holds m + 1 is refused, changing nothing: a new pair would carry the same counter", async () => {
    const kesBefore = await secretValue(h, "kesSigningKey");
    const r = await rotate(h, ["--revoke"]);
    expect(r.code, r.stdout).toBe(1);
    expect(r.stderr).toMatch(/--revoke: the chain last saw counter 4 and the current cert already has 5 \(m \+ 1, the highest the chain accepts\).*nothing was changed/);
    expect(r.stderr).toMatch(/run rotate-kes --revoke again: it issues 6/);
    expect(await secretValue(h, "kesSigningKey")).toBe(kesBefore);
    expect(await leaderState(h)).toMatchObject({ forging: 1, start: PERIOD, counter: 5 });
  });

  it("--revoke once the chain has seen the current counter: a new pair at m + 1 in the same KES period, though nothing else is due", async () => {
    // The pool made a block with counter 5: the chain's counter is 5 now.
    const config = h.lab().files.poolConfig;
    writeFileSync(config, readFileSync(config, "utf8").replace("onChainCounterCommand: echo 4", "onChainCounterCommand: echo 5"));
    const plain = await rotate(h);
    expect(plain.code, plain.stderr).toBe(0);
    expect(plain.stdout).toMatch(/nothing to do/);
    const kesBefore = await secretValue(h, "kesSigningKey");
    const r = await rotate(h, ["--revoke"]);
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toMatch(/the chain last saw counter 5: the new cert takes 6/);
    expect(await leaderState(h)).toMatchObject({ forging: 1, start: PERIOD, counter: 6 });
    expect(await secretValue(h, "kesSigningKey")).not.toBe(kesBefore);
    expect(readOpcertCounter(await secretValue(h, "opcertCounter"), "counter").next).toBe(7);
    const certs = await certsOnHosts(h);
    expect([certs.leader.counter, certs.standby.counter]).toEqual([6, 6]);
  });
});

describe.skipIf(skip)(`rotate-kes on a leader that is still starting${LAB_SKIP_NOTE}`, { timeout: ROTATION_DEADLINE_MS + 10_000 }, () => {
  const h = usePool();

  it("restarts it instead of a SIGHUP (which its node would ignore), and never signals the standby", async () => {
    const pool = h.pool();
    const leader = pool.fleet.connection(pool.leader);
    const slowStart = `${hostLayout(pool.config).home}/lab/startup-seconds`;
    // Fault injection: a file the stand-in reads (lab/node-standin.md), in a directory only the lab uses.
    await leader.runChecked(`install -d ${hostLayout(pool.config).home}/lab`);
    await leader.put(slowStart, "5\n", { owner: "root", group: "root", mode: 0o644, backup: false });
    try {
      await leader.runChecked(pool.config.node.service.restart);
      const r = await rotate(h);
      expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
      // A SIGHUP during the replay would have left it forging with the old cert read at startup.
      expect(await leaderState(h)).toMatchObject({ forging: 1, start: PERIOD, counter: 4 });
      const standby = await readNodeMetrics(pool.fleet.connection(pool.standby), hostLayout(pool.config).nodeConfig, pool.config.node.metricsPort);
      expect(standby?.get("cardano_node_lab_reloads_counter")).toBe(0);
      expect(standby && metricValue(standby, "forging_enabled")).toBe(0);
      expect((await certsOnHosts(h)).standby.kesPeriod).toBe(PERIOD);
    } finally {
      await leader.run(`rm -f ${slowStart}`);
    }
  }, 120_000);
});
