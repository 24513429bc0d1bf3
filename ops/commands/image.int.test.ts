/**
 * `pool-ops image bake` on the lab's sandbox host, with EC2 and SSM on the moto emulator, run as an operator types
 * it. The release archives are lab stand-ins (lab/release-fixtures.ts) with their real SHA-256 pinned in the config.
 */
import { DescribeImagesCommand, DescribeInstancesCommand, EC2Client, RunInstancesCommand, StopInstancesCommand } from "@aws-sdk/client-ec2";
import { GetParameterCommand, PutParameterCommand, SSMClient } from "@aws-sdk/client-ssm";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { labFleet, LAB_SKIP, LAB_SKIP_NOTE, runPoolOps, useLab } from "../../lab/harness";
import { cardanoNodeRelease, labGenesisHashes, nodeExporterRelease, type ReleaseArchive } from "../../lab/release-fixtures";
import { awsClientSettings } from "../aws/client-config";

const skip = LAB_SKIP;

describe.skipIf(skip)(`image bake on the lab${LAB_SKIP_NOTE}`, () => {
  const lab = useLab({ sandbox: true });
  let sandboxId: string;
  let node: ReleaseArchive;
  let exporter: ReleaseArchive;
  let config: string;
  let fleet: Awaited<ReturnType<typeof labFleet>>;
  const settings = () => awsClientSettings({ region: "eu-west-1", endpoint: lab().awsEndpoint });
  const PARAMS = ["/sandstone/ami/relay", "/sandstone/ami/producer"];

  /** The lab's pool config plus the image section a bake needs; `changes` edits it for one test. */
  function writeConfig(changes: (doc: Record<string, any>) => void = () => undefined): string {
    const doc = parse(readFileSync(lab().files.poolConfig, "utf8")) as Record<string, any>;
    doc.image = {
      ...doc.image,
      nodeReleases: { "11.1.3": { file: node.file, sha256: node.sha256 } },
      nodeExporter: { version: "1.9.1", file: exporter.file, sha256: exporter.sha256 },
    };
    // The lab release's genesis is synthetic: the lab pool names its hashes (the one lab fact about the network).
    doc.node = { ...doc.node, version: "11.1.3", genesisHashes: labGenesisHashes("preprod") };
    changes(doc);
    const path = join(lab().dir, `pool-image-${Math.random().toString(36).slice(2, 8)}.yaml`);
    writeFileSync(path, stringify(doc));
    return path;
  }

  const bake = (args: string[], configFile = config) =>
    runPoolOps(lab(), ["image", "bake", "--aws-endpoint", lab().awsEndpoint, "--config", configFile, ...args], { timeoutMs: 180_000 });

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

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), "releases-"));
    node = cardanoNodeRelease(dir, "11.1.3");
    exporter = nodeExporterRelease(dir, "1.9.1");
    // The sandbox's instance exists in the emulator, stopped (as the nodes stack leaves it between bakes).
    const ec2 = new EC2Client(settings());
    const run = await ec2.send(new RunInstancesCommand({ ImageId: "ami-12c6146b", InstanceType: "m6i.large", MinCount: 1, MaxCount: 1 }));
    sandboxId = run.Instances![0]!.InstanceId!;
    await ec2.send(new StopInstancesCommand({ InstanceIds: [sandboxId] }));
    ec2.destroy();
    const doc = JSON.parse(readFileSync(lab().files.inventory, "utf8")) as { inventory: { value: { hosts: { name: string; instanceId: string }[] } } };
    for (const host of doc.inventory.value.hosts) if (host.name === "sandbox") host.instanceId = sandboxId;
    writeFileSync(lab().files.inventory, JSON.stringify(doc));
    // The parameters as the nodes stack creates them: the base image until a golden one is baked.
    const ssm = new SSMClient(settings());
    for (const Name of PARAMS) await ssm.send(new PutParameterCommand({ Name, Value: "ami-12c6146b", Type: "String" }));
    ssm.destroy();
    config = writeConfig();
    fleet = await labFleet(lab());
    // Lab fact: a lab host is this machine, without the AWS CLI Debian's EC2 image ships; a stand-in for it goes where
    // the image's own binaries go (the bake looks there too).
    await fleet.connection("sandbox").runChecked("install -d -m 0755 /opt/cardano/bin");
    await fleet.connection("sandbox").put("/opt/cardano/bin/aws", "#!/bin/sh\n[ \"$1\" = --version ] && echo 'aws-cli/2.9.19 Python/3.11.2 Linux/6.1 source/x86_64.debian.12' && exit 0\nexit 1\n", { owner: "root", group: "root", mode: 0o755, backup: false });
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
    expect(r.stderr).toMatch(new RegExp(`image\\.nodeExporter\\.file .* has SHA-256 ${exporter.sha256}, expected 0{64}`));
    expect(await instanceState()).toBe("stopped");
    expect(await parameters()).toEqual(["ami-12c6146b", "ami-12c6146b"]);
  });

  it("--dry-run says what it would do and changes nothing", async () => {
    const r = await bake(["--node-version", "11.1.3", "--dry-run"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/dry run: would bake cardano-node 11\.1\.3 and node_exporter 1\.9\.1 on sandbox \(i-[0-9a-f]+, now stopped\)/);
    expect(await instanceState()).toBe("stopped");
    expect(await onSandbox("ls /opt/cardano/bin 2>/dev/null || true")).toBe("aws");
  });

  it("key material on the sandbox stops the bake before imaging: no image recorded, sandbox stopped", async () => {
    await onSandbox("install -d /opt/cardano/keys && printf '{\"type\": \"KesSigningKey_ed25519_kes_2^6\", \"cborHex\": \"00\"}' > /opt/cardano/keys/kes.skey");
    try {
      const r = await bake(["--node-version", "11.1.3", "--yes"]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/key material on the sandbox, so no image was made: \/opt\/cardano\/keys\/kes\.skey/);
      expect(r.stderr).toMatch(/the AMI parameters are unchanged; sandbox stopped/);
      expect(await parameters()).toEqual(["ami-12c6146b", "ami-12c6146b"]);
      expect(await instanceState()).toBe("stopped");
    } finally {
      await onSandbox("rm -rf /opt/cardano/keys");
    }
  });

  it("a release whose genesis is not the pool's is refused after install, before imaging: nothing recorded", async () => {
    const real = writeConfig((doc) => delete doc.node.genesisHashes);
    const r = await bake(["--node-version", "11.1.3", "--yes"], real);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/share\/cardano-node\/preprod: its config\.json names ByronGenesisHash [0-9a-f]{64}, the pool's preprod genesis is d4b8de7a/);
    expect(await parameters()).toEqual(["ami-12c6146b", "ami-12c6146b"]);
    expect(await instanceState()).toBe("stopped");
  });

  it("bake --yes: installs and checks the release, images the stopped sandbox, records the AMI for relays and producers", async () => {
    const r = await bake(["--node-version", "11.1.3", "--yes", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const out = r.json<{ imageId: string; versions: { node: string; cli: string; exporter: string }; previous: Record<string, string> }>();
    expect(out.versions).toEqual({ node: "11.1.3", cli: "11.1.0.0", exporter: "1.9.1" });
    expect(out.previous).toEqual({ relay: "ami-12c6146b", producer: "ami-12c6146b" });
    expect(await parameters()).toEqual([out.imageId, out.imageId]);
    expect(await instanceState()).toBe("stopped");

    const ec2 = new EC2Client(settings());
    const image = (await ec2.send(new DescribeImagesCommand({ ImageIds: [out.imageId] }))).Images![0]!;
    ec2.destroy();
    expect(image.State).toBe("available");
    const tags = Object.fromEntries(image.Tags!.map((t) => [t.Key, t.Value]));
    expect(tags).toMatchObject({ Pool: "sandstone", Role: "node", NodeVersion: "11.1.3", NodeExporterVersion: "1.9.1" });
    expect(image.Name).toMatch(/^sandstone-node-11\.1\.3-\d{8}-\d{6}$/);

    // On the sandbox (the lab host stays up): the binaries are installed, the scratch directory is gone.
    expect(await onSandbox("/opt/cardano/bin/cardano-node --version | head -n 1")).toBe("cardano-node 11.1.3 - linux-x86_64 - ghc-9.6");
    // The release's node files beside the binaries (share/ next to bin/), root-owned.
    expect(await onSandbox("stat -c '%U %a' /opt/cardano/share/cardano-node/preprod/shelley-genesis.json")).toBe("root 644");
    expect(await onSandbox("ls /opt/cardano/share/cardano-node")).toBe("mainnet\npreprod\npreview");
    expect(await onSandbox("test -x /opt/cardano/bin/node_exporter && echo yes")).toBe("yes");
    expect(await onSandbox("test -e /opt/cardano/image-build && echo left || echo gone")).toBe("gone");
    const audit = readFileSync(join(lab().dir, "audit.log"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as { command: string; details?: { imageId?: string } });
    expect(audit.some((a) => a.command.startsWith("image bake") && a.details?.imageId === out.imageId)).toBe(true);
  });
});
