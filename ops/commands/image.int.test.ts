/**
 * `pool-ops image bake` on the lab's sandbox machine, run as an operator types it: the lab's EC2 starts it, stops it and
 * images its disk. The release archives are the lab's (a stand-in cardano-node release, a real node_exporter) with
 * their SHA-256 pinned in the lab's pool config.
 */
import { DescribeImagesCommand, DescribeInstancesCommand, EC2Client } from "@aws-sdk/client-ec2";
import { GetParameterCommand, PutParameterCommand, SSMClient } from "@aws-sdk/client-ssm";
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { labFleet, LAB_SKIP, LAB_SKIP_NOTE, runPoolOps, startPausedPoolOps, useLab, waitForSsh } from "../../lab/harness";
import { labHost } from "../../lab/lab";
import { imageLayerPath, instanceAction, stoppedDiskPath } from "../../lab/lab-hosts";
import { awsClientSettings } from "../aws/client-config";

const skip = LAB_SKIP;

/** One bake on the lab, start to recorded image: the sandbox started, release installed and checked, imaged. */
const BAKE_DEADLINE_MS = 180_000;

describe.skipIf(skip)(`image bake on the lab${LAB_SKIP_NOTE}`, () => {
  const lab = useLab({ sandbox: true });
  let sandboxId: string;
  let config: string;
  /** node_exporter's version as the lab pins it (Debian's build of it). */
  let exporterVersion: string;
  let fleet: Awaited<ReturnType<typeof labFleet>>;
  const settings = () => awsClientSettings({ region: "eu-west-1", endpoint: lab().awsEndpoint });
  const PARAMS = ["/sandstone/ami/relay", "/sandstone/ami/producer"];

  /** The lab's pool config (its releases pinned, its genesis named); `changes` edits it for one test. */
  function writeConfig(changes: (doc: Record<string, any>) => void = () => undefined): string {
    const doc = parse(readFileSync(lab().files.poolConfig, "utf8")) as Record<string, any>;
    changes(doc);
    const path = join(lab().dir, `pool-image-${Math.random().toString(36).slice(2, 8)}.yaml`);
    writeFileSync(path, stringify(doc));
    return path;
  }

  const bake = (args: string[], configFile = config) =>
    runPoolOps(lab(), ["image", "bake", "--aws-endpoint", lab().awsEndpoint, "--config", configFile, ...args], { timeoutMs: BAKE_DEADLINE_MS });

  async function parameters(): Promise<string[]> {
    const ssm = new SSMClient(settings());
    try {
      return await Promise.all(PARAMS.map(async (Name) => (await ssm.send(new GetParameterCommand({ Name }))).Parameter!.Value!));
    } finally {
      ssm.destroy();
    }
  }
  async function instanceState(): Promise<string> {
    const ec2 = new EC2Client(settings());
    try {
      return (await ec2.send(new DescribeInstancesCommand({ InstanceIds: [sandboxId] }))).Reservations![0]!.Instances![0]!.State!.Name!;
    } finally {
      ec2.destroy();
    }
  }
  const onSandbox = async (command: string) => (await fleet.connection("sandbox").run(command, { sudo: true })).stdout.toString().trim();
  /** A file on the stopped sandbox's disk. */
  const onSandboxDisk = (path: string) => stoppedDiskPath(lab(), "sandbox", path);

  beforeAll(async () => {
    sandboxId = labHost(lab(), "sandbox").instanceId;
    exporterVersion = (parse(readFileSync(lab().files.poolConfig, "utf8")) as { image: { nodeExporter: { version: string } } }).image.nodeExporter.version;
    // Between bakes the sandbox is a stopped instance.
    await instanceAction(lab(), "sandbox", "stop");
    // The parameters as the nodes stack creates them: the base image until a golden one is baked.
    const ssm = new SSMClient(settings());
    for (const Name of PARAMS) await ssm.send(new PutParameterCommand({ Name, Value: "ami-12c6146b", Type: "String", Overwrite: true }));
    ssm.destroy();
    config = writeConfig();
    fleet = await labFleet(lab());
  }, 120_000);
  afterAll(async () => {
    await fleet?.close();
  });

  it("a version the config does not pin, or a line the pool cannot run, is refused naming the field; nothing changes", async () => {
    const r = await bake(["--node-version", "11.0.9", "--yes"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/image\.nodeReleases has no entry for cardano-node 11\.0\.9 \(listed: 11\.1\.3\)/);
    const old = await bake(["--node-version", "10.5.1", "--yes"]);
    expect(old.code).toBe(2);
    expect(old.stderr).toMatch(/--node-version: 10\.5\.1: .*cannot follow the protocol-version-11 hard fork/);
    expect(await instanceState()).toBe("stopped");
  });

  it("an archive whose SHA-256 differs from the pinned one is refused before anything starts", async () => {
    const wrong = writeConfig((doc) => (doc.image.nodeExporter.sha256 = "0".repeat(64)));
    const r = await bake(["--node-version", "11.1.3", "--yes"], wrong);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/image\.nodeExporter\.file .* has SHA-256 [0-9a-f]{64}, expected 0{64}/);
    expect(await instanceState()).toBe("stopped");
    expect(await parameters()).toEqual(["ami-12c6146b", "ami-12c6146b"]);
  });

  it("--dry-run says what it would do and changes nothing", async () => {
    const r = await bake(["--node-version", "11.1.3", "--dry-run"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`dry run: would bake cardano-node 11.1.3 and node_exporter ${exporterVersion} on sandbox (${sandboxId}, now stopped)`);
    expect(await instanceState()).toBe("stopped");
    expect(existsSync(onSandboxDisk("/usr/local/bin/cardano-node"))).toBe(false);
  });

  it("key material on the sandbox stops the bake before imaging: no image recorded, sandbox stopped", { timeout: BAKE_DEADLINE_MS }, async () => {
    // Someone left a KES key on the sandbox's disk.
    await instanceAction(lab(), "sandbox", "start");
    await waitForSsh(lab(), "sandbox", 120_000);
    await onSandbox("install -d /opt/cardano/keys && printf '{\"type\": \"KesSigningKey_ed25519_kes_2^6\", \"cborHex\": \"00\"}' > /opt/cardano/keys/kes.skey");
    await instanceAction(lab(), "sandbox", "stop");
    try {
      const r = await bake(["--node-version", "11.1.3", "--yes"]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/key material on the sandbox, so no image was made: \/opt\/cardano\/keys\/kes\.skey/);
      expect(r.stderr).toMatch(/the AMI parameters are unchanged; sandbox stopped/);
      expect(await parameters()).toEqual(["ami-12c6146b", "ami-12c6146b"]);
      expect(await instanceState()).toBe("stopped");
    } finally {
      rmSync(onSandboxDisk("/opt/cardano/keys"), { recursive: true, force: true });
    }
  });

  it("a release whose genesis is not the pool's is refused after install, before imaging: nothing recorded", { timeout: BAKE_DEADLINE_MS }, async () => {
    const real = writeConfig((doc) => delete doc.node.genesisHashes);
    const r = await bake(["--node-version", "11.1.3", "--yes"], real);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/share\/cardano-node\/preprod: its config\.json names ByronGenesisHash [0-9a-f]{64}, the pool's preprod genesis is d4b8de7a/);
    expect(await parameters()).toEqual(["ami-12c6146b", "ami-12c6146b"]);
    expect(await instanceState()).toBe("stopped");
  });

  it("bake --yes: installs and checks the release, images the stopped sandbox, records the AMI for relays and producers", { timeout: BAKE_DEADLINE_MS }, async () => {
    const r = await bake(["--node-version", "11.1.3", "--yes", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const out = r.json<{ imageId: string; versions: { node: string; cli: string; exporter: string }; previous: Record<string, string> }>();
    expect(out.versions).toEqual({ node: "11.1.3", cli: "11.1.0.0", exporter: exporterVersion });
    expect(out.previous).toEqual({ relay: "ami-12c6146b", producer: "ami-12c6146b" });
    expect(await parameters()).toEqual([out.imageId, out.imageId]);
    expect(await instanceState()).toBe("stopped");

    const ec2 = new EC2Client(settings());
    const image = (await ec2.send(new DescribeImagesCommand({ ImageIds: [out.imageId] }))).Images![0]!;
    ec2.destroy();
    expect(image.State).toBe("available");
    const tags = Object.fromEntries(image.Tags!.map((t) => [t.Key, t.Value]));
    expect(tags).toMatchObject({ Pool: "sandstone", Role: "node", NodeVersion: "11.1.3", NodeExporterVersion: exporterVersion });
    expect(image.Name).toMatch(/^sandstone-node-11\.1\.3-\d{8}-\d{6}$/);

    // In the image (the layer the sandbox's disk added over the base image): binaries, node files, node_exporter's
    // service; no scratch files, and nothing of the sandbox as an instance (an instance made from it is a first boot).
    const inImage = (path: string) => imageLayerPath(lab(), out.imageId, path);
    expect(statSync(inImage("/usr/local/bin/cardano-node")).mode & 0o111).not.toBe(0);
    expect(statSync(inImage("/usr/local/share/cardano-node/preprod/shelley-genesis.json")).uid).toBe(0);
    expect(existsSync(inImage("/usr/local/share/cardano-node/mainnet/config.json"))).toBe(true);
    expect(existsSync(inImage("/usr/local/bin/node_exporter"))).toBe(true);
    expect(readFileSync(inImage("/etc/systemd/system/node_exporter.service"), "utf8")).toMatch(/^User=node_exporter$/m);
    expect(existsSync(inImage("/opt/cardano/image-build"))).toBe(false);
    for (const forgotten of ["/home/admin/.ssh/authorized_keys", "/etc/ssh/ssh_host_ed25519_key", `/var/lib/cloud/instances/${sandboxId}`]) {
      expect(existsSync(inImage(forgotten)), forgotten).toBe(false);
    }
    expect(readFileSync(inImage("/etc/fstab"), "utf8")).not.toMatch(/\/opt\/cardano\/db/);
    const audit = readFileSync(join(lab().dir, "audit.log"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as { command: string; details?: { imageId?: string } });
    expect(audit.some((a) => a.command.startsWith("image bake") && a.details?.imageId === out.imageId)).toBe(true);
  });

  // Up to two bakes: one run to its image, the next to its first step (each bounded as a whole bake is).
  it("a bake killed once its image is made: the next bake records that image in both parameters and stops the sandbox first", { timeout: 2 * BAKE_DEADLINE_MS }, async () => {
    const before = await parameters();
    const args = ["image", "bake", "--aws-endpoint", lab().awsEndpoint, "--config", config, "--node-version", "11.1.3", "--yes"];
    const killed = startPausedPoolOps(lab(), args, "record");
    await killed.paused;
    killed.child.kill("SIGKILL");
    await killed.done;
    // Nothing recorded yet; the journal beside the lease names the image it made.
    expect(await parameters()).toEqual(before);
    const status = await runPoolOps(lab(), ["--aws-endpoint", lab().awsEndpoint, "lock", "status", "--json"]);
    const unfinished = status.json<{ unfinished: { command: string; step: string; facts: { imageId?: string } } | null }>().unfinished;
    expect(unfinished).toMatchObject({ command: "image bake", step: "record" });
    const made = unfinished!.facts.imageId!;
    expect(made).toMatch(/^ami-/);
    expect(made).not.toBe(before[0]);
    // The dead bake's lease broken, as its operator would; the next bake finishes the killed one before its own steps.
    expect((await runPoolOps(lab(), ["--aws-endpoint", lab().awsEndpoint, "lock", "break", "--yes"])).code).toBe(0);
    const next = startPausedPoolOps(lab(), args, "start-sandbox");
    await next.paused;
    expect(await parameters()).toEqual([made, made]);
    expect(await instanceState()).toBe("stopped");
    // Ctrl-C at its first step: it stops there, the sandbox stopped, and leaves no journal.
    next.child.kill("SIGINT");
    next.child.kill("SIGUSR2");
    const r = await next.done;
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toContain(`the interrupted image bake: its image ${made} recorded in /sandstone/ami/relay and /sandstone/ami/producer`);
    expect(r.stderr).toMatch(/the interrupted image bake: sandbox stopped/);
    expect(await instanceState()).toBe("stopped");
    const after = await runPoolOps(lab(), ["--aws-endpoint", lab().awsEndpoint, "lock", "status", "--json"]);
    expect(after.json<{ unfinished: unknown }>().unfinished).toBeNull();
  });
});
