/**
 * The monitoring host's Prometheus (Debian 12's 2.42, the package it installs) discovering the pool through EC2, on the
 * AWS emulator: the generated prometheus.yml with only the lab facts changed — the EC2 endpoint is the emulator's, the
 * discovery refreshes every 2 s instead of 60 — and its targets read from Prometheus' API. The pool's instances get
 * loopback addresses (127.40.x.x, the emulator does not mind), and the scrape interval is an hour, so Prometheus sends
 * nothing anywhere but the emulator: only discovery and relabelling are under test here (the lab's scaling test
 * scrapes for real).
 */
import { DescribeImagesCommand, EC2Client, RunInstancesCommand, StopInstancesCommand, TerminateInstancesCommand, CreateSubnetCommand, CreateVpcCommand } from "@aws-sdk/client-ec2";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { parse, stringify } from "yaml";
import { emulatorAvailable, freeLoopbackPort, startAwsEmulator, type AwsEmulator } from "../lab/aws-emulator";
import { awsClientSettings } from "../ops/aws/client-config";
import { testPool } from "../test/pool-fixtures";
import { requireTool, tempDir } from "../test/support";
import { prometheusYaml } from "./monitoring-files";

const hasPrometheus = spawnSync("sh", ["-c", "command -v prometheus"]).status === 0;
const canRun = requireTool(hasPrometheus && emulatorAvailable(), "prometheus (Debian's package) and moto are needed");
/** Prometheus started, read its config and refreshed its discovery (2 s) a few times. */
const DISCOVERY_DEADLINE_MS = 30_000;

interface Target {
  readonly labels: Record<string, string>;
}

describe.runIf(canRun)("Prometheus 2.42 finds the pool's nodes through EC2 (emulator)", () => {
  const config = testPool({ name: "sandstone", region: "eu-west-1" });
  let emulator: AwsEmulator;
  let ec2: EC2Client;
  let prometheus: ChildProcess;
  let api: string;
  let image: string;
  const subnets: Record<string, string> = {};
  const ids: Record<string, string> = {};

  async function launch(name: string, role: string, az: string, ip: string, pool = config.name): Promise<void> {
    const out = await ec2.send(
      new RunInstancesCommand({
        ImageId: image,
        MinCount: 1,
        MaxCount: 1,
        SubnetId: subnets[az],
        PrivateIpAddress: ip,
        TagSpecifications: [{ ResourceType: "instance", Tags: [{ Key: "Pool", Value: pool }, { Key: "Role", Value: role }, { Key: "Name", Value: `${pool}-${name}` }] }],
      }),
    );
    ids[`${pool}/${name}`] = out.Instances![0]!.InstanceId!;
  }

  /** Waits until the active targets, as `job host role az instance` lines, are these; fails naming what it saw. */
  async function expectTargets(want: readonly string[]): Promise<void> {
    const until = Date.now() + DISCOVERY_DEADLINE_MS;
    let seen: string[] = [];
    while (Date.now() < until) {
      const body = await fetch(`${api}/api/v1/targets?state=active`).then((r) => r.json()).catch(() => undefined) as { data?: { activeTargets: Target[] } } | undefined;
      seen = (body?.data?.activeTargets ?? []).map((t) => [t.labels.job, t.labels.host, t.labels.role, t.labels.az, t.labels.instance].join(" ")).sort();
      if (JSON.stringify(seen) === JSON.stringify([...want].sort())) return;
      await new Promise((r) => setTimeout(r, 500));
    }
    expect(seen, `Prometheus' targets after ${DISCOVERY_DEADLINE_MS / 1000} s`).toEqual([...want].sort());
  }

  beforeAll(async () => {
    emulator = await startAwsEmulator();
    ec2 = new EC2Client(awsClientSettings({ region: config.region, endpoint: emulator.endpoint }));
    const vpc = (await ec2.send(new CreateVpcCommand({ CidrBlock: "127.40.0.0/16" }))).Vpc!.VpcId!;
    for (const [i, az] of ["eu-west-1a", "eu-west-1b", "eu-west-1c"].entries()) {
      subnets[az] = (await ec2.send(new CreateSubnetCommand({ VpcId: vpc, CidrBlock: `127.40.${i}.0/24`, AvailabilityZone: az }))).Subnet!.SubnetId!;
    }
    image = (await ec2.send(new DescribeImagesCommand({}))).Images![0]!.ImageId!;
    await launch("relay-1", "relay", "eu-west-1a", "127.40.0.10");
    await launch("relay-2", "relay", "eu-west-1b", "127.40.1.10");
    await launch("producer-1", "producer", "eu-west-1a", "127.40.0.20");
    await launch("producer-2", "producer", "eu-west-1b", "127.40.1.20");
    await launch("bastion", "bastion", "eu-west-1c", "127.40.2.10");
    await launch("monitoring", "monitoring", "eu-west-1c", "127.40.2.11");
    await launch("relay-1", "relay", "eu-west-1a", "127.40.0.30", "otherpool");

    const dir = tempDir("prometheus-ec2-sd");
    const doc = parse(prometheusYaml(config)) as { rule_files?: unknown; global: Record<string, unknown>; scrape_configs: { ec2_sd_configs: Record<string, unknown>[] }[] };
    delete doc.rule_files;
    doc.global.scrape_interval = "1h";
    for (const job of doc.scrape_configs) for (const sd of job.ec2_sd_configs) Object.assign(sd, { endpoint: emulator.endpoint, refresh_interval: "2s" });
    writeFileSync(join(dir, "prometheus.yml"), stringify(doc));
    mkdirSync(join(dir, "data"));
    const port = await freeLoopbackPort();
    api = `http://127.0.0.1:${port}`;
    prometheus = spawn("prometheus", [`--config.file=${join(dir, "prometheus.yml")}`, `--storage.tsdb.path=${join(dir, "data")}`, `--web.listen-address=127.0.0.1:${port}`], {
      stdio: "ignore",
      // The emulator takes any key; Prometheus' AWS SDK signs with what the environment gives it (on the host: IMDS).
      env: { ...process.env, AWS_ACCESS_KEY_ID: "test", AWS_SECRET_ACCESS_KEY: "test" },
    });
  }, 60_000);

  afterAll(async () => {
    prometheus?.kill();
    ec2?.destroy();
    await emulator?.stop();
  });

  test("relays and producers on the node port, node_exporter everywhere but the bastion; labelled host, role and AZ", async () => {
    await expectTargets([
      "cardano-node relay-1 relay eu-west-1a 127.40.0.10:12798",
      "cardano-node relay-2 relay eu-west-1b 127.40.1.10:12798",
      "cardano-node producer-1 producer eu-west-1a 127.40.0.20:12798",
      "cardano-node producer-2 producer eu-west-1b 127.40.1.20:12798",
      "node-exporter relay-1 relay eu-west-1a 127.40.0.10:9100",
      "node-exporter relay-2 relay eu-west-1b 127.40.1.10:9100",
      "node-exporter producer-1 producer eu-west-1a 127.40.0.20:9100",
      "node-exporter producer-2 producer eu-west-1b 127.40.1.20:9100",
      "node-exporter monitoring monitoring eu-west-1c 127.40.2.11:9100",
    ]);
  });

  test("a relay added and one removed are followed; a stopped producer stays a node target (down), not an exporter one", async () => {
    await launch("relay-3", "relay", "eu-west-1c", "127.40.2.12");
    await ec2.send(new TerminateInstancesCommand({ InstanceIds: [ids[`${config.name}/relay-2`]!] }));
    await ec2.send(new StopInstancesCommand({ InstanceIds: [ids[`${config.name}/producer-2`]!] }));
    await expectTargets([
      "cardano-node relay-1 relay eu-west-1a 127.40.0.10:12798",
      "cardano-node relay-3 relay eu-west-1c 127.40.2.12:12798",
      "cardano-node producer-1 producer eu-west-1a 127.40.0.20:12798",
      "cardano-node producer-2 producer eu-west-1b 127.40.1.20:12798",
      "node-exporter relay-1 relay eu-west-1a 127.40.0.10:9100",
      "node-exporter relay-3 relay eu-west-1c 127.40.2.12:9100",
      "node-exporter producer-1 producer eu-west-1a 127.40.0.20:9100",
      "node-exporter monitoring monitoring eu-west-1c 127.40.2.11:9100",
    ]);
  });
});
