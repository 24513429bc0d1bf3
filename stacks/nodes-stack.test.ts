import { decodedUserDataText } from "../test/cloud-config";
import { describe, expect, test } from "vitest";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadPoolConfigFile } from "../config/load";
import type { PoolConfig } from "../config/schema";
import { resourcesOf, synthFailure, synthJson, type SynthJson, testApp, testPool } from "../test/pool-fixtures";
import { buildPoolStacks } from "./pool-app";

const DEFAULT_POOL = fileURLToPath(new URL("../config/default-pool.yaml", import.meta.url));

function allStacks(config: PoolConfig) {
  const stacks = buildPoolStacks(testApp(), config);
  return { nodes: synthJson(stacks.nodes), network: synthJson(stacks.network), security: synthJson(stacks.security), stacks };
}

/** Instances by their Name tag. */
function instancesByName(json: SynthJson) {
  return new Map(resourcesOf(json, "aws_instance").map((i) => [String((i.tags as Record<string, string>).Name), i]));
}

describe("nodes stack, default pool", () => {
  const config = loadPoolConfigFile(DEFAULT_POOL);
  const { nodes, network } = allStacks(config);
  const instances = instancesByName(nodes);
  const pool = config.name;

  test("relays and producers start from their role's golden-AMI parameter (refreshed from SSM); the bastion from the base image", () => {
    expect(String(instances.get(`${pool}-relay-1`)?.ami)).toMatch(/^\$\{aws_ssm_parameter\.parameters_ami-relay_[0-9A-F]+\.insecure_value\}$/);
    expect(String(instances.get(`${pool}-producer-2`)?.ami)).toMatch(/^\$\{aws_ssm_parameter\.parameters_ami-producer_[0-9A-F]+\.insecure_value\}$/);
    expect(String(instances.get(`${pool}-bastion`)?.ami)).toMatch(/data\.aws_ami\.base-image\.id/);
    const relayParameter = resourcesOf(nodes, "aws_ssm_parameter").find((p) => p.name === `/${pool}/ami/relay`);
    expect(relayParameter).toMatchObject({ type: "String", lifecycle: { ignore_changes: ["insecure_value"] } });
    expect(relayParameter?.value).toBeUndefined();
  });
  const subnetsById = network.resource?.aws_subnet ?? {};
  /** The network stack's subnet an instance's `subnet_id` (`${aws_subnet.<id>.id}` in a per-stack synth) names. */
  const subnetOf = (ref: unknown) => {
    const id = /aws_subnet\.([^.]+)\.id/.exec(String(ref))?.[1];
    const subnet = id ? subnetsById[id] : undefined;
    if (!subnet) throw new Error(`no subnet for ${String(ref)}`);
    return { az: String(subnet.availability_zone), tier: (subnet.tags as Record<string, string>).Tier, public: subnet.map_public_ip_on_launch === true };
  };

  test("4 relays over 3 AZs, each with an Elastic IP", () => {
    const relays = [...instances.entries()].filter(([name]) => name.startsWith(`${pool}-relay-`));
    expect(relays).toHaveLength(4);
    expect(new Set(relays.map(([name]) => name.replace(`${pool}-`, "")))).toEqual(new Set(["relay-1", "relay-2", "relay-3", "relay-4"]));
    const eips = resourcesOf(nodes, "aws_eip");
    const relayEips = eips.filter((e) => String(e.instance).includes("relays_relay-"));
    expect(relayEips).toHaveLength(4);
    expect(relays.every(([, r]) => subnetOf(r.subnet_id).tier === "relay")).toBe(true);
    expect(new Set(relays.map(([, r]) => subnetOf(r.subnet_id).az))).toEqual(new Set(config.availabilityZones));
  });

  test("2 producers in 2 different private subnets, no public IP, termination-protected, no automatic recovery", () => {
    const producers = [...instances.entries()].filter(([name]) => name.startsWith(`${pool}-producer-`)).map(([, p]) => p);
    expect(producers).toHaveLength(2);
    expect(new Set(producers.map((p) => String(p.subnet_id))).size).toBe(2);
    for (const p of producers) {
      expect(p.associate_public_ip_address).toBe(false);
      expect(p.disable_api_termination).toBe(true);
      expect(p.maintenance_options).toEqual({ auto_recovery: "disabled" });
    }
    // Relays and the bastion keep EC2's default recovery: coming back as they were is what they should do.
    expect(instances.get(`${pool}-relay-1`)?.maintenance_options).toBeUndefined();
    expect(resourcesOf(nodes, "aws_eip").filter((e) => String(e.instance).includes("producer"))).toHaveLength(0);
    const subnets = producers.map((p) => subnetOf(p.subnet_id));
    expect(subnets.map((s) => s.tier)).toEqual(["producer", "producer"]);
    expect(subnets.some((s) => s.public)).toBe(false);
    expect(new Set(subnets.map((s) => s.az)).size).toBe(2);
  });

  test("1 bastion with an EIP; no sandbox unless switched on", () => {
    expect(instances.has(`${pool}-bastion`)).toBe(true);
    expect(resourcesOf(nodes, "aws_eip").filter((e) => String(e.instance).includes("bastion"))).toHaveLength(1);
    expect(instances.has(`${pool}-sandbox`)).toBe(false);
    const withSandbox = instancesByName(allStacks({ ...config, sandbox: { ...config.sandbox, enabled: true } }).nodes);
    expect(withSandbox.has(`${pool}-sandbox`)).toBe(true);
  });

  test("every instance requires IMDSv2 and has an encrypted gp3 root; nodes get an encrypted gp3 chain volume", () => {
    for (const [name, i] of instances) {
      expect(i.metadata_options, name).toMatchObject({ http_tokens: "required", http_put_response_hop_limit: 1 });
      expect(i.root_block_device, name).toMatchObject({ encrypted: true, volume_type: "gp3" });
    }
    const volumes = resourcesOf(nodes, "aws_ebs_volume");
    expect(volumes).toHaveLength(6);
    expect(volumes.every((v) => v.encrypted === true && v.type === "gp3" && String(v.kms_key_id).length > 0)).toBe(true);
    expect(resourcesOf(nodes, "aws_volume_attachment")).toHaveLength(6);
  });

  test("no secret value in any stack", () => {
    for (const json of Object.values(allStacks(config)).filter((v): v is SynthJson => !("network" in v && "nodes" in v))) {
      expect(resourcesOf(json, "aws_secretsmanager_secret_version")).toHaveLength(0);
    }
  });

  test("the leader parameter ignores its value; golden AMI parameters exist per role", () => {
    const parameters = resourcesOf(nodes, "aws_ssm_parameter");
    const leader = parameters.find((p) => p.name === `/${pool}/leader`);
    expect(leader).toMatchObject({ value: "producer-1", lifecycle: { ignore_changes: ["value"] } });
    expect(parameters.map((p) => String(p.name)).filter((n) => n.includes("/ami/")).sort()).toEqual(
      ["bastion", "monitoring", "producer", "relay"].map((r) => `/${pool}/ami/${r}`),
    );
  });

  test("the inventory output names every host, the secrets and the parameters; EC2 tags carry Pool, Role, Name", () => {
    const inventory = nodes.output?.inventory?.value as Record<string, unknown>;
    expect(inventory).toMatchObject({ pool, network: config.network, region: config.region, parameters: { leader: `/${pool}/leader` } });
    const hosts = inventory.hosts as { name: string; role: string; privateIp: string }[];
    expect(hosts.map((h) => h.name)).toEqual(["relay-1", "relay-2", "relay-3", "relay-4", "producer-1", "producer-2"]);
    expect(Object.keys(inventory.secrets as object).sort()).toEqual(["coldSigningKey", "kesSigningKey", "opcert", "opcertCounter", "vrfSigningKey"]);
    for (const [, i] of instances) expect(Object.keys(i.tags as object)).toEqual(expect.arrayContaining(["Pool", "Role", "Name"]));
  });

  test("user data: producers get the per-boot leader guard, relays do not; nothing secret is in it", () => {
    const userData = (name: string) => decodedUserDataText(String(instances.get(`${pool}-${name}`)?.user_data));
    expect(userData("producer-1")).toMatch(/path: \/usr\/local\/sbin\/pool-leader-guard/);
    expect(userData("producer-1")).toContain(`LEADER_PARAMETER='/${pool}/leader'`);
    expect(userData("relay-1")).not.toMatch(/path: \/usr\/local\/sbin\/pool-leader-guard|SECRET_/);
    expect(userData("relay-1")).toMatch(/pool-mount-chain-volume/);
    expect(userData("bastion")).not.toMatch(/mount-chain-volume|leader-guard/);
    for (const [, i] of instances) expect(decodedUserDataText(String(i.user_data))).not.toMatch(/cborHex|skey"/);
    // EC2 refuses user data over 16 KiB.
    for (const [name, i] of instances) expect(String(i.user_data).length, name).toBeLessThan(16 * 1024);
    // The node's boot inputs, rendered like push-config renders them: overlays, per-mode environments, unit.
    expect(userData("relay-1")).toMatch(/path: \/opt\/cardano\/config\/boot\/topology.overlay.json/);
    expect(userData("producer-2")).toMatch(/path: \/opt\/cardano\/config\/boot\/env.standby/);
    expect(userData("producer-2")).toMatch(/NODE_MODE=standby/);
    expect(userData("producer-1")).toMatch(/path: \/etc\/systemd\/system\/cardano-node.service/);
  });
});

describe("nodes stack policies", () => {
  test("a config granting an instance role the cold key fails synth naming the rule", () => {
    const message = synthFailure((app) =>
      buildPoolStacks(app, testPool({ iam: { extraInstanceStatements: [{ tier: "relay", actions: ["secretsmanager:GetSecretValue"], resources: ["*"] }] } })),
    );
    expect(message).toMatch(/IAM-NO-COLD-KEY-FOR-INSTANCES/);
  });

  test("the default pool passes every policy rule", () => {
    expect(synthFailure((app) => buildPoolStacks(app, loadPoolConfigFile(DEFAULT_POOL)))).toBeUndefined();
  });
});

describe("relays.count and the stacks the nodes stack reads", () => {
  /** The outputs of the stacks before the nodes stack, as the full synth writes them (cross-stack outputs included). */
  function upstreamOutputs(relays: number): { network: string[]; security: string[] } {
    const app = testApp();
    buildPoolStacks(app, testPool({ relays: { count: relays } }));
    app.synth();
    const outputs = (stack: string) => Object.keys((JSON.parse(readFileSync(join(app.outdir, "stacks", stack, "cdk.tf.json"), "utf8")) as SynthJson).output ?? {}).sort();
    return { network: outputs("network"), security: outputs("security") };
  }

  test("the network and security stacks export the same outputs for 2, 3 and 16 relays: scaling out never needs them deployed first", () => {
    const two = upstreamOutputs(2);
    expect(two.network.filter((o) => o.includes("subnet-relay-"))).toHaveLength(3);
    expect(upstreamOutputs(3)).toEqual(two);
    expect(upstreamOutputs(16)).toEqual(two);
  });
});
