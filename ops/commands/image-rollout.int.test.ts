/**
 * `pool-ops image rollout` on a lab deployed with `cdktf deploy` into the lab's AWS: Terraform replaces each instance,
 * the lab's EC2 boots a new machine from the new image with the instance's user data and re-attaches its chain
 * volume, the rollout learns the new host keys from the console, gates on health, promotes with the old leader fenced.
 * Checks the order, the relay guard and health gate, resuming after a stop, never two producers forging, and that the
 * stacks show no drift afterwards.
 */
import { DescribeInstancesCommand, EC2Client } from "@aws-sdk/client-ec2";
import { GetParameterCommand, PutParameterCommand, SSMClient } from "@aws-sdk/client-ssm";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { labFleet, LAB_SKIP, LAB_SKIP_NOTE, runPoolOps, startPausedPoolOps, useLab } from "../../lab/harness";
import { copyImage } from "../../lab/lab-hosts";
import { provisionLabPool, type ProvisionedPool } from "../../lab/pool-provision";
import { tempDir } from "../../test/support";
import { stacksInOrder, terraform, terraformEnv } from "../../tools/terraform";
import { awsClientSettings } from "../aws/client-config";
import { forgingState } from "../pool/producer-role";

const skip = LAB_SKIP;
// Two relays keep the test short (each replacement is ~60 s of the provider's 10 s waiters) and still show the order.
const NODES = ["relay-1", "relay-2", "producer-1", "producer-2"];
const ORDER = ["replace:relay-1", "replace:relay-2", "replace:producer-2", "promote:producer-2", "replace:producer-1", "promote:producer-1", "settle"];

describe.skipIf(skip)(`image rollout on the emulator and the lab${LAB_SKIP_NOTE}`, () => {
  const lab = useLab({ relays: 2, deploy: "cdktf" });
  let pool: ProvisionedPool;
  let dir: string;
  let outdir: string;
  let config: string;
  let env: Record<string, string>;
  let baseImage: string;
  let goldenImage: string;
  const settings = () => awsClientSettings({ region: "eu-west-1", endpoint: lab().awsEndpoint });

  async function imagesByHost(): Promise<Record<string, string>> {
    const ec2 = new EC2Client(settings());
    try {
      const out = await ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: "tag:Pool", Values: ["sandstone"] }, { Name: "instance-state-name", Values: ["running", "pending", "stopped"] }] }));
      const map: Record<string, string> = {};
      for (const i of (out.Reservations ?? []).flatMap((r) => r.Instances ?? [])) {
        const name = i.Tags?.find((t) => t.Key === "Name")?.Value?.replace(/^sandstone-/, "");
        if (name && NODES.includes(name)) map[name] = i.ImageId!;
      }
      return map;
    } finally {
      ec2.destroy();
    }
  }
  async function leader(): Promise<string | undefined> {
    const ssm = new SSMClient(settings());
    try {
      return (await ssm.send(new GetParameterCommand({ Name: "/sandstone/leader" }))).Parameter?.Value;
    } finally {
      ssm.destroy();
    }
  }
  /** A producer's forging state; a replaced producer has new host keys (the rollout records them): connect again. */
  let lastForgingError: unknown;
  let reconnecting: Promise<void> | undefined;
  const forging = async (host: string) => {
    try {
      const state = await forgingState(pool.config, pool.fleet.connection(host));
      // No reading through a connection to an instance that was replaced (it is gone): connect again.
      if (state !== undefined) return state;
      lastForgingError = `${host}: no metrics through the open connection`;
    } catch (error) {
      lastForgingError = error;
    }
    // One reconnection at a time: the sampler asks both producers at once.
    reconnecting ??= (async () => {
      await pool.fleet.close().catch(() => undefined);
      pool = { ...pool, fleet: await labFleet(lab()) };
    })().finally(() => (reconnecting = undefined));
    await reconnecting;
    return forgingState(pool.config, pool.fleet.connection(host)).catch((again: unknown) => {
      lastForgingError = again;
      return undefined;
    });
  };
  const rolloutArgs = (...extra: string[]) => ["image", "rollout", "--config", config, "--stacks", outdir, ...extra];
  const stepsRun = (stdout: string) => [...stdout.matchAll(/^((?:replace|promote):[\w-]+|settle): /gm)].map((m) => m[1]);

  beforeAll(async () => {
    pool = await provisionLabPool(lab());
    dir = tempDir("pool-rollout");
    outdir = lab().files.synthDir;
    const doc = parse(readFileSync(lab().files.poolConfig, "utf8")) as Record<string, unknown>;
    (doc.image as Record<string, unknown>).rolloutHealthTimeoutSeconds = 10;
    config = join(dir, "pool.yaml");
    writeFileSync(config, stringify(doc));
    env = { ...(terraformEnv(dir) as Record<string, string>), POOL_CONFIG: config, POOL_OPS_STATE_DIR: join(dir, "state-dir") };
    // A new golden image, recorded as `image bake` records it (the same content under a new id: a second bake).
    const ssm = new SSMClient(settings());
    baseImage = (await ssm.send(new GetParameterCommand({ Name: "/sandstone/ami/relay" }))).Parameter!.Value!;
    goldenImage = await copyImage(lab(), baseImage, "sandstone-node-11.1.3-test");
    for (const role of ["relay", "producer"]) await ssm.send(new PutParameterCommand({ Name: `/sandstone/ami/${role}`, Value: goldenImage, Type: "String", Overwrite: true }));
    ssm.destroy();
  }, 900_000);
  afterAll(async () => {
    await pool?.fleet.close();
  });

  it("--dry-run lists relays, standby, promotion, old leader, settle in order and changes nothing", async () => {
    const r = await runPoolOps(lab(), rolloutArgs("--dry-run", "--promote-back"), { env, timeoutMs: 120_000 });
    expect(r.code, r.stderr).toBe(0);
    expect([...r.stdout.matchAll(/^ {2}((?:replace|promote):[\w-]+|settle) /gm)].map((m) => m[1])).toEqual(ORDER);
    expect(r.stdout).toMatch(new RegExp(`dry run: would roll out ${goldenImage} to sandstone, leader producer-1`));
    expect(Object.values(await imagesByHost())).toEqual(Array(4).fill(baseImage));
  }, 120_000);

  it("a relay unhealthy after replacement stops the rollout before the next node", { timeout: 600_000 }, async () => {
    const run = startPausedPoolOps(lab(), rolloutArgs("--yes", "--promote-back"), "health:relay-2", env);
    await run.paused;
    // relay-2's new instance comes up, but its node does not: it is down when the health gate looks.
    const stop = await runPoolOps(lab(), ["run", "-H", "relay-2", "--", "systemctl stop cardano-node"], { env });
    expect(stop.code, stop.stdout + stop.stderr).toBe(0);
    run.child.kill("SIGUSR2");
    const r = await run.done;
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/relay-2 is not healthy on the new image after 10 s: .*the rollout stopped before the next node/);
    expect(r.stderr).toMatch(/1 steps done, journalled beside the pool's lease \(pool-ops lock status shows it\): run pool-ops image rollout --stacks \S+ again to resume/);
    // The journal is beside the lease, not on this machine: every operator sees it, and other changing commands refuse.
    const status = await runPoolOps(lab(), ["lock", "status", "--json"], { env });
    expect(status.json<{ unfinished: { command: string; step: string } | null }>().unfinished).toMatchObject({ command: "rollout", step: "replace:relay-2" });
    expect(existsSync(join(env.POOL_OPS_STATE_DIR!, "rollout-sandstone.json"))).toBe(false);
    const now = await imagesByHost();
    expect([now["relay-1"], now["relay-2"]]).toEqual([goldenImage, goldenImage]);
    expect([now["producer-1"], now["producer-2"]]).toEqual([baseImage, baseImage]);
    expect(await leader()).toBe("producer-1");
  });

  it("run again: resumes at relay-2, killed inside its promotion, the promotion finished by the next command, resumed to the end; never two producers forging, no drift", async () => {
    const start = await runPoolOps(lab(), ["run", "-H", "relay-2", "--", "systemctl start cardano-node"], { env });
    expect(start.code, start.stdout + start.stderr).toBe(0);
    const samples: [number | undefined, number | undefined][] = [];
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        samples.push(await Promise.all([forging("producer-1"), forging("producer-2")]));
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    // Killed (a lost laptop) inside the promotion, after the old leader was fenced.
    const killed = startPausedPoolOps(lab(), rolloutArgs("--yes"), "promote", env);
    await killed.paused;
    killed.child.kill("SIGKILL");
    const k = await killed.done;
    expect(k.stdout).toMatch(/resuming: 1 of 7 steps done/);
    expect(stepsRun(k.stdout)).toEqual(ORDER.slice(1, 4));
    expect(k.stdout).toMatch(/relay-2 already runs the image/);
    const inside = await runPoolOps(lab(), ["lock", "status", "--json"], { env });
    expect(inside.json<{ unfinished: { command: string; step: string; within?: { command: string; step: string } } | null }>().unfinished).toMatchObject({ command: "promote", step: "promote", within: { command: "rollout", step: "promote:producer-2" } });
    // The next changing command (another operator's push-config, once the dead one's lease is broken) finishes the
    // promotion, then refuses to change a pool that is mid-rollout.
    const broken = await runPoolOps(lab(), ["lock", "break", "--yes"], { env });
    expect(broken.code, broken.stderr).toBe(0);
    const push = await runPoolOps(lab(), ["push-config", "--yes"], { env, timeoutMs: 300_000 });
    expect(push.code, `${push.stdout}\n${push.stderr}`).not.toBe(0);
    expect(push.stderr).toMatch(/finishing the interrupted promote \(a step of rollout\) first/);
    expect(push.stderr).toMatch(/the pool is mid-rollout \(rollout by .*, 3 of 7 steps done, stopped at promote:producer-2\): only a rollout resumes it/);
    expect(await leader()).toBe("producer-2");
    const r = await runPoolOps(lab(), rolloutArgs("--yes"), { env, timeoutMs: 900_000 });
    sampling = false;
    await sampler;
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toMatch(/resuming: 3 of 7 steps done/);
    expect(stepsRun(r.stdout)).toEqual(ORDER.slice(3));
    expect(r.stdout).toMatch(/producer-2 already leads/);
    expect(Object.values(await imagesByHost())).toEqual(Array(4).fill(goldenImage));
    expect(await leader()).toBe("producer-1");
    expect([await forging("producer-1"), await forging("producer-2")], `last error reading forging: ${String(lastForgingError)}`).toEqual([1, 0]);
    expect(samples.length).toBeGreaterThan(10);
    expect(samples.filter(([a, b]) => a === 1 && b === 1)).toEqual([]);
    const after = await runPoolOps(lab(), ["lock", "status", "--json"], { env });
    expect(after.json<{ unfinished: unknown }>().unfinished).toBeNull();
    // A rerun finds nothing to replace and does not move the leader.
    const again = await runPoolOps(lab(), rolloutArgs("--yes"), { env, timeoutMs: 120_000 });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(new RegExp(`every relay and producer already runs ${goldenImage}: nothing to do \\(producer-1 leads\\)`));
    expect(await leader()).toBe("producer-1");
    // `--image` naming what every node already runs replaces nothing but is recorded (dry run: only said).
    const ssm = new SSMClient(settings());
    const parameter = async (role: string) => (await ssm.send(new GetParameterCommand({ Name: `/sandstone/ami/${role}` }))).Parameter?.Value;
    try {
      for (const role of ["relay", "producer"]) await ssm.send(new PutParameterCommand({ Name: `/sandstone/ami/${role}`, Value: baseImage, Type: "String", Overwrite: true }));
      const pinDry = await runPoolOps(lab(), rolloutArgs("--dry-run", "--image", goldenImage), { env, timeoutMs: 120_000 });
      expect(pinDry.code, pinDry.stderr).toBe(0);
      expect(pinDry.stdout).toContain(`nothing to do (producer-1 leads); dry run: would record it in /sandstone/ami/relay and /sandstone/ami/producer`);
      expect([await parameter("relay"), await parameter("producer")]).toEqual([baseImage, baseImage]);
      const pin = await runPoolOps(lab(), rolloutArgs("--yes", "--image", goldenImage), { env, timeoutMs: 120_000 });
      expect(pin.code, pin.stderr).toBe(0);
      expect(pin.stdout).toContain(`nothing to do (producer-1 leads); recorded it in /sandstone/ami/relay and /sandstone/ami/producer`);
      expect(stepsRun(pin.stdout)).toEqual([]);
      expect([await parameter("relay"), await parameter("producer")]).toEqual([goldenImage, goldenImage]);
      expect(Object.values(await imagesByHost())).toEqual(Array(4).fill(goldenImage));
    } finally {
      ssm.destroy();
    }
    // A rollback to the previous image is planned with that image recorded in the parameters first.
    const back = await runPoolOps(lab(), rolloutArgs("--dry-run", "--image", baseImage), { env, timeoutMs: 120_000 });
    expect(back.code, back.stderr).toBe(0);
    expect(back.stdout).toContain(`roll out ${baseImage} to sandstone, leader producer-1; record it in /sandstone/ami/relay (now ${goldenImage}) and /sandstone/ami/producer (now ${goldenImage}) first`);
    expect(back.stdout).toMatch(/replace:relay-1 .*\[to do\]/);
    for (const stack of stacksInOrder(outdir)) {
      const plan = await terraform(stack, ["plan", "-detailed-exitcode", "-input=false", "-no-color"], env);
      expect(plan.code, `${stack.name} drift after the rollout:\n${plan.stdout}\n${plan.stderr}`).toBe(0);
    }
  }, 900_000);
});
