/**
 * One operator at a time, on the lab (booted hosts, SSM, Secrets Manager, EC2 and the lease table on the emulator),
 * every command run as an operator types it:
 * - two changing commands at once (rotate-kes twice, rotate-kes and promote, promote twice, push-config during
 *   rotate-kes): the second is refused at once naming the holder, the first finishes, and the pool ends consistent;
 * - a command SIGKILLed at each of its checkpoints, its lease broken (`lock break`, as an operator would once the
 *   holder is known dead), then another changing command: it reports the unfinished change, finishes it from the
 *   pool's state, and the pool ends consistent.
 * Consistent: exactly the recorded leader forges (`pool-ops leader` agrees), and its active pair, the standby's held
 * pair and the two hot secrets are one pair. After a verified rotation no producer holds the previous KES key.
 */
import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { GetParameterCommand, SSMClient } from "@aws-sdk/client-ssm";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hostLayout } from "../../config/host-layout";
import { LAB_SKIP, LAB_SKIP_NOTE, runPoolOps, startPausedPoolOps, useLab, type PoolOpsRun } from "../../lab/harness";
import { provisionLabPool, type ProvisionedPool } from "../../lab/pool-provision";
import { awsClientSettings } from "../aws/client-config";
import { kesPeriodAt } from "../cardano";
import { comparePairs, hostPairCopy, secretPairCopy } from "../pool/hot-pair";
import { forgingState } from "../pool/producer-role";

/** A command's own bound: a rotation or promotion (two node restarts, each watched for a few slots) on a loaded machine. */
const COMMAND_DEADLINE_MS = 240_000;
const PERIOD = kesPeriodAt(new Date(), "preprod");

describe.skipIf(LAB_SKIP)(`one operator at a time${LAB_SKIP_NOTE}`, { timeout: 2 * COMMAND_DEADLINE_MS }, () => {
  const lab = useLab();
  let pool: ProvisionedPool;
  const settings = () => awsClientSettings({ region: "eu-west-1", endpoint: lab().awsEndpoint });

  beforeAll(async () => {
    // The cert started a few periods ago, so every rotation has work to do.
    pool = await provisionLabPool(lab(), { kesPeriod: PERIOD - 3, counter: 4 });
  }, 180_000);
  afterAll(async () => {
    await pool?.fleet.close();
  });

  const cli = (args: string[]) => runPoolOps(lab(), ["--aws-endpoint", lab().awsEndpoint, ...args], { timeoutMs: COMMAND_DEADLINE_MS });
  const paused = (args: string[], step: string) => startPausedPoolOps(lab(), ["--aws-endpoint", lab().awsEndpoint, ...args], step);
  const producers = () => pool.inventory.hosts.filter((h) => h.role === "producer").map((h) => h.name);

  async function recordedLeader(): Promise<string> {
    const ssm = new SSMClient(settings());
    try {
      return (await ssm.send(new GetParameterCommand({ Name: "/sandstone/leader" }))).Parameter!.Value!;
    } finally {
      ssm.destroy();
    }
  }

  async function secret(id: string): Promise<string> {
    const client = new SecretsManagerClient(settings());
    try {
      return (await client.send(new GetSecretValueCommand({ SecretId: id }))).SecretString!;
    } finally {
      client.destroy();
    }
  }

  /** The pool as it must be after any command has finished, whatever happened to the one before. */
  async function expectConsistent(context: string): Promise<void> {
    const leader = await recordedLeader();
    const standby = producers().find((p) => p !== leader)!;
    const layout = hostLayout(pool.config);
    const forging = await Promise.all([leader, standby].map((p) => forgingState(pool.config, pool.fleet.connection(p)).catch(() => undefined)));
    expect(forging, `${context}: forging of [leader ${leader}, standby ${standby}]`).toEqual([1, 0]);
    const copies = [
      await hostPairCopy(pool.fleet.connection(leader), layout.activeCredentials, `${leader} active`),
      await hostPairCopy(pool.fleet.connection(standby), layout.heldCredentials, `${standby} held`),
      secretPairCopy(await secret(pool.inventory.secrets.kesSigningKey!), await secret(pool.inventory.secrets.opcert!)),
    ];
    const agreement = comparePairs(copies);
    expect(agreement.same, `${context}: ${agreement.lines.join("; ")}`).toBe(true);
    const said = await cli(["leader"]);
    expect(said.code, `${context}: pool-ops leader\n${said.stdout}${said.stderr}`).toBe(0);
  }

  function expectRefusedByLease(run: PoolOpsRun, holderCommand: string): void {
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(4);
    expect(run.stderr).toMatch(new RegExp(`is held by \\S+@\\S+ pid \\d+ running ${holderCommand} since .*; nothing was changed`));
  }

  /** The KES key's CBOR hex the leader runs with now (test tooling reads it to search for it later). */
  async function activeKesHex(): Promise<string> {
    const text = await pool.fleet.connection(await recordedLeader()).readText(hostLayout(pool.config).activeCredentials.kesKey);
    return (JSON.parse(text!) as { cborHex: string }).cborHex;
  }

  async function expectNowhereUnderHome(kesHex: string, context: string): Promise<void> {
    const home = hostLayout(pool.config).home;
    for (const p of producers()) {
      // A fixed string from the middle of the key's bytes: present in any copy of its text envelope.
      const found = await pool.fleet.connection(p).run(`grep -rlF ${kesHex.slice(100, 164)} ${home} || true`, { sudo: true });
      expect(found.stdout.toString().trim(), `${context}: ${p} still holds the previous KES key`).toBe("");
    }
  }

  it("two rotate-kes at once: the second is refused naming the first; the first finishes and retires the previous pair", async () => {
    const previousKes = await activeKesHex();
    const first = paused(["rotate-kes", "--yes"], `push-${await recordedLeader()}`);
    await first.paused;
    expectRefusedByLease(await cli(["rotate-kes", "--yes"]), "rotate-kes");
    first.child.kill("SIGUSR2");
    const done = await first.done;
    expect(done.code, `${done.stdout}\n${done.stderr}`).toBe(0);
    expect(done.stdout).toMatch(/the previous pair is removed from every producer/);
    await expectConsistent("after two rotate-kes");
    await expectNowhereUnderHome(previousKes, "after a verified rotation");
  });

  it("rotate-kes and promote at once: promote is refused; the rotation finishes on the producers' roles it planned", async () => {
    const rotation = paused(["rotate-kes", "--yes", "--force"], "update-secrets");
    await rotation.paused;
    expectRefusedByLease(await cli(["promote", "--yes"]), "rotate-kes");
    rotation.child.kill("SIGUSR2");
    const done = await rotation.done;
    expect(done.code, `${done.stdout}\n${done.stderr}`).toBe(0);
    await expectConsistent("after rotate-kes with promote refused");
  });

  it("two promote at once: the second is refused while the first has fenced the old leader; one producer forges after", async () => {
    const before = await recordedLeader();
    const first = paused(["promote", "--yes"], "promote");
    await first.paused;
    expectRefusedByLease(await cli(["promote", "--yes"]), "promote");
    first.child.kill("SIGUSR2");
    const done = await first.done;
    expect(done.code, `${done.stdout}\n${done.stderr}`).toBe(0);
    expect(await recordedLeader()).not.toBe(before);
    await expectConsistent("after two promote");
  });

  it("push-config during rotate-kes is refused naming the rotation", async () => {
    const rotation = paused(["rotate-kes", "--yes", "--force"], "reload");
    await rotation.paused;
    expectRefusedByLease(await cli(["push-config", "--yes"]), "rotate-kes");
    rotation.child.kill("SIGUSR2");
    const done = await rotation.done;
    expect(done.code, `${done.stdout}\n${done.stderr}`).toBe(0);
    await expectConsistent("after push-config refused during rotate-kes");
  });

  /** SIGKILL at `step`, then the lease broken as an operator would once the holder is known dead. */
  async function killedAt(args: string[], step: string): Promise<void> {
    const run = paused(args, step);
    await run.paused;
    run.child.kill("SIGKILL");
    await run.done;
    const broken = await cli(["lock", "break", "--yes"]);
    expect(broken.code, broken.stderr).toBe(0);
  }

  for (const step of ["standby", "update-secrets", "reload", "verify"] as const) {
    it(`rotate-kes SIGKILLed at ${step}: the next rotate-kes reports it and finishes it`, async () => {
      const leader = await recordedLeader();
      const standby = producers().find((p) => p !== leader)!;
      await killedAt(["rotate-kes", "--yes", "--force"], step === "standby" ? `push-${standby}` : step);
      const status = await cli(["lock", "status"]);
      expect(status.stdout).toMatch(/unfinished change: rotate-kes by .* stopped at step /);
      const next = await cli(["rotate-kes", "--yes"]);
      expect(next.code, `${next.stdout}\n${next.stderr}`).toBe(0);
      expect(next.stderr).toMatch(/an unfinished change is recorded beside the lease: rotate-kes by /);
      if (step === "verify") expect(next.stdout).toMatch(/the interrupted rotation had in fact completed/);
      else expect(next.stderr).toMatch(/finishing it/);
      expect((await cli(["lock", "status"])).stdout).toMatch(/no unfinished change/);
      await expectConsistent(`after rotate-kes killed at ${step}`);
    });
  }

  it("rotate-kes SIGKILLed between its pushes, then promote: promote finishes the rotation first, then promotes", async () => {
    const before = await recordedLeader();
    const standby = producers().find((p) => p !== before)!;
    await killedAt(["rotate-kes", "--yes", "--force"], `push-${standby}`);
    const next = await cli(["promote", "--yes"]);
    expect(next.code, `${next.stdout}\n${next.stderr}`).toBe(0);
    expect(next.stderr).toMatch(/finishing the interrupted rotate-kes before anything else/);
    expect(next.stderr).toMatch(/the interrupted rotate-kes is finished; going on with promote/);
    expect(await recordedLeader()).toBe(standby);
    await expectConsistent("after promote finished a killed rotation");
  });

  it("push-config SIGKILLed between its hosts: the next changing command pushes the rest and restarts the host it was on", async () => {
    // A change every node takes: one extra file per role.
    const extras = mkdtempSync(join(tmpdir(), "one-operator-extras-"));
    for (const role of ["relay", "producer"]) {
      mkdirSync(join(extras, "role", role, "etc", "pool-ops-test"), { recursive: true });
      writeFileSync(join(extras, "role", role, "etc", "pool-ops-test", "marker"), "pushed once\n");
    }
    const baseConfig = readFileSync(lab().files.poolConfig, "utf8");
    writeFileSync(lab().files.poolConfig, `${baseConfig}pushConfig:\n  extraFilesDir: ${extras}\n`);
    try {
      const leader = await recordedLeader();
      const standby = producers().find((p) => p !== leader)!;
      await killedAt(["push-config", "--yes"], `push-${standby}`);
      expect((await cli(["lock", "status"])).stdout).toMatch(new RegExp(`unfinished change: push-config by .* stopped at step push-${standby}`));
      const next = await cli(["rotate-kes", "--yes", "--force"]);
      expect(next.code, `${next.stdout}\n${next.stderr}`).toBe(0);
      expect(next.stderr).toMatch(/finishing the interrupted push-config before anything else/);
      expect(next.stderr).toMatch(/the interrupted push-config is finished; going on with rotate-kes/);
      for (const host of [...producers(), ...pool.inventory.hosts.filter((h) => h.role === "relay").map((h) => h.name)]) {
        expect(await pool.fleet.connection(host).readText("/etc/pool-ops-test/marker"), host).toBe("pushed once\n");
      }
      expect((await cli(["lock", "status"])).stdout).toMatch(/no unfinished change/);
      await expectConsistent("after rotate-kes finished a killed push-config");
    } finally {
      writeFileSync(lab().files.poolConfig, baseConfig);
      rmSync(extras, { recursive: true, force: true });
    }
  });

  it("promote SIGKILLed between fencing and promoting: the next changing command completes the promotion; leader agrees", async () => {
    const before = await recordedLeader();
    const standby = producers().find((p) => p !== before)!;
    await killedAt(["promote", "--yes"], "promote");
    // Fenced, not promoted: nothing forges until the next command finishes it.
    const next = await cli(["rotate-kes", "--yes", "--force"]);
    expect(next.code, `${next.stdout}\n${next.stderr}`).toBe(0);
    expect(next.stderr).toMatch(/an unfinished change is recorded beside the lease: promote by .* stopped at step promote/);
    expect(next.stdout).toMatch(new RegExp(`the interrupted promotion is complete: ${standby} forges`));
    expect(await recordedLeader()).toBe(standby);
    await expectConsistent("after rotate-kes finished a killed promotion");
  });
});
