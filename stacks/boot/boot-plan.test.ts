import { describe, expect, test } from "vitest";
import { parse as parseYaml } from "yaml";
import { poolAddressPlan } from "../../config/address-plan";
import { testPool } from "../../test/pool-fixtures";
import { CHAIN_VOLUME_PLACEHOLDER, hostBootText, hostBootUserData, TIME_SYNC_SOURCES_PATH } from "./boot-plan";
import { asTerraformString, bootScript, renderCloudInit } from "./cloud-init";

interface CloudConfig {
  groups?: string[];
  users: { name: string; system?: boolean; primary_group?: string; sudo?: string; ssh_authorized_keys?: string[]; lock_passwd?: boolean; homedir?: string }[];
  write_files: { path: string; content: string; permissions: string; owner: string; defer?: boolean }[];
  runcmd: string[][];
}

const config = testPool();
const plan = poolAddressPlan(config);
const host = (name: string) => plan.hosts.find((h) => h.name === name)!;
const parsed = (text: string): CloudConfig => {
  expect(text.startsWith("#cloud-config\n")).toBe(true);
  return parseYaml(text) as CloudConfig;
};

describe("cloud-init user data", () => {
  test("a producer: settings, then prepare → mount → fetch keys → start, scripts verbatim from the repo", () => {
    const doc = parsed(hostBootText(config, host("producer-1"), true));
    expect(doc.runcmd.map((c) => c[0])).toEqual([
      "/usr/local/sbin/pool-sync-time",
      "/usr/local/sbin/pool-prepare-node",
      "/usr/local/sbin/pool-mount-chain-volume",
      "/usr/local/sbin/pool-fetch-hot-keys",
      "/usr/local/sbin/pool-start-node",
    ]);
    const files = new Map(doc.write_files.map((f) => [f.path, f]));
    expect(files.get("/usr/local/sbin/pool-fetch-hot-keys")?.content).toBe(bootScript("fetch-hot-keys.sh"));
    expect(files.get("/usr/local/sbin/pool-fetch-hot-keys")?.permissions).toBe("0755");
    const settings = files.get("/etc/default/pool-node")!.content;
    expect(settings).toContain(`HOST_NAME='producer-1'`);
    expect(settings).toContain(`CHAIN_VOLUME_ID='${CHAIN_VOLUME_PLACEHOLDER}'`);
    expect(settings).toContain(`SECRET_KES_SIGNING_KEY='${config.name}/hot/kes-signing-key'`);
    expect(settings).not.toMatch(/cold/);
  });

  test("a relay mounts its volume but never fetches keys; the bastion only gets its settings and the time source", () => {
    const relay = parsed(hostBootText(config, host("relay-2"), true));
    expect(relay.runcmd.map((c) => c[0])).toEqual(["/usr/local/sbin/pool-sync-time", "/usr/local/sbin/pool-prepare-node", "/usr/local/sbin/pool-mount-chain-volume", "/usr/local/sbin/pool-start-node"]);
    expect(JSON.stringify(relay)).not.toMatch(/SECRET_|fetch-hot-keys/);
    const bastion = parsed(hostBootText(config, host("bastion"), false));
    expect(bastion.runcmd).toEqual([["/usr/local/sbin/pool-sync-time"]]);
    expect(bastion.write_files.map((f) => f.path)).toEqual(["/etc/default/pool-node", "/usr/local/sbin/pool-sync-time", TIME_SYNC_SOURCES_PATH]);
  });

  test("the monitoring host installs its services and runs no node scripts", () => {
    const doc = parsed(hostBootText(config, host("monitoring"), false, [{ path: "/etc/prometheus/prometheus.yml", content: "global: {}\n" }]));
    expect(doc.runcmd.map((c) => c[0])).toEqual(["/usr/local/sbin/pool-sync-time", "/usr/local/sbin/pool-prepare-monitoring"]);
    expect(doc.write_files.map((f) => f.path)).toContain("/etc/prometheus/prometheus.yml");
  });

  test("every host: the login user with exactly the pool's authorized keys and passwordless sudo, no other login", () => {
    const keys = ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILQshKXh3OnWbRCzpaTDNzGu8oyzm/cGh6ks7ELofP63 alice: \"quoted\" # not a comment", config.ssh.authorizedKeys[0]!];
    const pool = testPool({ ssh: { authorizedKeys: keys } });
    for (const name of ["bastion", "relay-1", "producer-2", "monitoring"]) {
      const doc = parsed(hostBootText(pool, host(name), name !== "bastion" && name !== "monitoring"));
      const logins = doc.users.filter((u) => !u.system);
      expect(logins, name).toEqual([{ name: "admin", shell: "/bin/bash", lock_passwd: true, sudo: "ALL=(ALL) NOPASSWD:ALL", ssh_authorized_keys: keys }]);
    }
    const noSudo = parsed(hostBootText(testPool({ ssh: { authorizedKeys: keys, sudo: false } }), host("relay-1"), true));
    expect(noSudo.users[0]).not.toHaveProperty("sudo");
    expect(() => renderCloudInit({ users: [{ name: "admin" }], settings: {}, files: [], scripts: [] })).toThrow(/no login user with an authorized key/);
  });

  test("nodes: the node's system account and group are created before files it owns are written", () => {
    for (const name of ["relay-1", "producer-1"]) {
      const doc = parsed(hostBootText(config, host(name), true));
      expect(doc.groups).toEqual(["cardano"]);
      expect(doc.users.find((u) => u.system)).toEqual({ name: "cardano", system: true, no_create_home: true, primary_group: "cardano", homedir: "/opt/cardano", shell: "/usr/sbin/nologin", lock_passwd: true });
    }
    expect(parsed(hostBootText(config, host("bastion"), false)).users.map((u) => u.name)).toEqual(["admin"]);
  });

  test("user data EC2 would refuse (over 16 KiB raw) is refused at synth, naming the host", () => {
    const keys = Array.from({ length: 120 }, () => config.ssh.authorizedKeys[0]!);
    const many = testPool({ ssh: { authorizedKeys: keys } });
    expect(() => hostBootUserData(many, host("producer-1"), "${aws_ebs_volume.v.id}")).toThrow(/producer-1: its user data is \d+ bytes, over EC2's limit of 16384/);
    expect(() => hostBootUserData(config, host("producer-1"), "${aws_ebs_volume.v.id}")).not.toThrow();
  });

  test("node files owned by the node user are deferred until the user exists", () => {
    const doc = parsed(hostBootText(config, host("relay-1"), true, [{ path: "/opt/cardano/config/topology.json", content: "{}\n", owner: "cardano:cardano" }]));
    expect(doc.write_files.find((f) => f.path.endsWith("topology.json"))).toMatchObject({ owner: "cardano:cardano", defer: true, content: "{}\n" });
  });

  test("as a Terraform string: shell ${…} and %{…} escaped, the volume id a reference", () => {
    const userData = hostBootUserData(config, host("relay-1"), "${aws_ebs_volume.chain.id}");
    expect(userData).toContain("CHAIN_VOLUME_ID='${aws_ebs_volume.chain.id}'");
    expect(userData).toContain('device="/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol$${CHAIN_VOLUME_ID#vol-}"');
    expect(userData).not.toMatch(/[^$]\$\{CHAIN_VOLUME_ID/);
    expect(asTerraformString("a %{x} b")).toBe("a %%{x} b");
    expect(() => asTerraformString("@@MISSING@@")).toThrow(/placeholder @@MISSING@@ has no value/);
  });

  test("bad settings are refused", () => {
    const users = [{ name: "admin", sshAuthorizedKeys: config.ssh.authorizedKeys }];
    expect(() => renderCloudInit({ users, settings: { lower: "x" }, files: [], scripts: [] })).toThrow(/UPPER_SNAKE_CASE: lower/);
    expect(() => renderCloudInit({ users, settings: { OK: "it's" }, files: [], scripts: [] })).toThrow(/must not contain quotes/);
  });

  test("every host syncs time with the Amazon Time Sync Service through chrony, before anything else", () => {
    for (const name of ["producer-1", "relay-1", "bastion", "monitoring"]) {
      const doc = parsed(hostBootText(config, host(name), name !== "bastion" && name !== "monitoring"));
      expect(doc.runcmd[0], name).toEqual(["/usr/local/sbin/pool-sync-time"]);
      const source = doc.write_files.find((f) => f.path === TIME_SYNC_SOURCES_PATH);
      expect(source?.content, name).toMatch(/^server 169\.254\.169\.123 prefer iburst minpoll 4 maxpoll 4$/m);
      expect(source?.owner).toBe("root:root");
    }
    expect(bootScript("sync-time.sh")).toContain("systemctl restart chrony");
  });

  test("the monitoring host keeps the configuration cloud-init wrote when apt installs the packages that own it", () => {
    const script = bootScript("prepare-monitoring.sh");
    const installs = script.split("\n").filter((line) => /apt-get install/.test(line));
    expect(installs.length).toBe(2);
    for (const line of installs) expect(line).toContain("$KEEP_OURS");
    expect(script).toContain('KEEP_OURS="-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold"');
  });
});
