import { describe, expect, test } from "vitest";
import { poolAddressPlan } from "../../config/address-plan";
import { decodeCloudConfig, type CloudConfigDoc } from "../../test/cloud-config";
import { testPool } from "../../test/pool-fixtures";
import { CHAIN_VOLUME_PLACEHOLDER, hostBootText, hostBootUserData, TIME_SYNC_SOURCES_PATH } from "./boot-plan";
import { evaluateTerraformString } from "../../lab/deploy/terraform-string";
import { asTerraformString, bootScript, renderCloudInit } from "./cloud-init";


const config = testPool();
const plan = poolAddressPlan(config);
const host = (name: string) => plan.hosts.find((h) => h.name === name)!;
const parsed = (text: string): CloudConfigDoc => {
  expect(text.startsWith("#cloud-config\n")).toBe(true);
  return decodeCloudConfig(text);
};

describe("cloud-init user data", () => {
  test("a producer: settings, then prepare → mount → start, and the per-boot unit with the leader guard installed", () => {
    const doc = parsed(hostBootText(config, host("producer-1"), true));
    expect(doc.runcmd.map((c) => c[0])).toEqual(["/usr/local/sbin/pool-sync-time", "/usr/local/sbin/pool-prepare-node", "/usr/local/sbin/pool-mount-chain-volume", "/usr/local/sbin/pool-start-node"]);
    const files = new Map(doc.write_files.map((f) => [f.path, f]));
    expect(files.get("/usr/local/sbin/pool-leader-guard")?.content).toBe(bootScript("leader-guard.sh"));
    expect(files.get("/usr/local/sbin/pool-leader-guard")?.permissions).toBe("0755");
    expect(files.get("/usr/local/sbin/pool-node-boot")?.content).toBe(bootScript("node-boot.sh"));
    expect(files.get("/usr/local/sbin/pool-compose-node-files")?.content).toBe(bootScript("compose-node-files.py"));
    const unit = files.get("/etc/systemd/system/pool-node-boot.service")!.content;
    expect(unit).toMatch(/^Before=cardano-node.service$/m);
    expect(unit).toMatch(/^Type=oneshot$/m);
    // Once per boot, not per node restart: a restart by promote must not re-run the guard against a stale record.
    expect(unit).toMatch(/^RemainAfterExit=yes$/m);
    expect(bootScript("start-node.sh")).toMatch(/systemctl enable pool-node-boot.service/);
    const settings = files.get("/etc/default/pool-node")!.content;
    expect(settings).toContain(`HOST_NAME='producer-1'`);
    expect(settings).toContain(`NODE_NETWORK='preprod'`);
    expect(settings).toContain(`NODE_RELEASE_DIR='/usr/local/share/cardano-node'`);
    expect(settings).toContain(`CHAIN_VOLUME_ID='${CHAIN_VOLUME_PLACEHOLDER}'`);
    expect(settings).toContain(`SECRET_KES_SIGNING_KEY='${config.name}/hot/kes-signing-key'`);
    expect(settings).not.toMatch(/cold/);
  });

  test("the leader guard fails closed: every path but a readable record naming this host ends as a standby", () => {
    const guard = bootScript("leader-guard.sh");
    // Each early exit (no token, no region, no CLI, unreadable record, another host named, secrets unreadable) stands by.
    expect(guard.match(/\|\| standby "|\|\| \{ region=""; standby "/g)?.length).toBeGreaterThanOrEqual(4);
    expect(guard).toMatch(/\[ "\$leader" = "\$HOST_NAME" \] \|\| standby/);
    // The standby environment is written before anything else happens on that path.
    const standby = guard.slice(guard.indexOf("standby() {"), guard.indexOf("region=\"\"\n"));
    expect(standby.indexOf("write_env standby")).toBeLessThan(standby.indexOf("mv -f"));
    expect(guard).not.toMatch(/set -e\b/);
  });

  test("a relay mounts its volume but never fetches keys; the bastion only gets its settings and the time source", () => {
    const relay = parsed(hostBootText(config, host("relay-2"), true));
    expect(relay.runcmd.map((c) => c[0])).toEqual(["/usr/local/sbin/pool-sync-time", "/usr/local/sbin/pool-prepare-node", "/usr/local/sbin/pool-mount-chain-volume", "/usr/local/sbin/pool-start-node"]);
    expect(JSON.stringify(relay)).not.toMatch(/SECRET_/);
    expect(relay.write_files.map((f) => f.path)).not.toContain("/usr/local/sbin/pool-leader-guard");
    expect(relay.write_files.map((f) => f.path)).toContain("/usr/local/sbin/pool-node-boot");
    const bastion = parsed(hostBootText(config, host("bastion"), false));
    expect(bastion.runcmd).toEqual([["/usr/local/sbin/pool-sync-time"]]);
    expect(bastion.write_files.map((f) => f.path)).toEqual(["/etc/default/pool-node", "/usr/local/sbin/pool-sync-time", TIME_SYNC_SOURCES_PATH]);
  });

  test("the sandbox gets no per-boot node unit (nor do images made from it)", () => {
    const sandboxConfig = testPool({ sandbox: { enabled: true } });
    const sandbox = poolAddressPlan(sandboxConfig).hosts.find((h) => h.role === "sandbox")!;
    const doc = parsed(hostBootText(sandboxConfig, sandbox, true));
    expect(doc.write_files.map((f) => f.path)).not.toContain("/etc/systemd/system/pool-node-boot.service");
    expect(bootScript("start-node.sh")).toMatch(/no pool node on this host/);
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

  test("ssh.tierAuthorizedKeys: a tier's own keys replace the pool's on that tier only", () => {
    const producerKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILQshKXh3OnWbRCzpaTDNzGu8oyzm/cGh6ks7ELofP63 producer-token";
    const pool = testPool({ ssh: { authorizedKeys: config.ssh.authorizedKeys, tierAuthorizedKeys: { producer: [producerKey] } } });
    const keysOf = (name: string) => parsed(hostBootText(pool, host(name), name.startsWith("producer") || name.startsWith("relay"))).users.find((u) => !u.system)!.ssh_authorized_keys;
    expect(keysOf("producer-1")).toEqual([producerKey]);
    expect(keysOf("producer-2")).toEqual([producerKey]);
    for (const name of ["bastion", "relay-1", "monitoring"]) expect(keysOf(name), name).toEqual(config.ssh.authorizedKeys);
    expect(() => testPool({ ssh: { authorizedKeys: config.ssh.authorizedKeys, tierAuthorizedKeys: { producer: [] } } })).toThrow(/ssh\.tierAuthorizedKeys\.producer.*an empty list would lock everyone out of the producer tier/);
    expect(() => testPool({ ssh: { authorizedKeys: config.ssh.authorizedKeys, tierAuthorizedKeys: { producers: [producerKey] } } as never })).toThrow(/tierAuthorizedKeys/);
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
    // The only interpolation is the volume's id; everything else reaches the host byte for byte as rendered.
    expect([...userData.matchAll(/(?<!\$)\$\{([^}]*)\}/g)].map((m) => m[1])).toEqual(["aws_ebs_volume.chain.id"]);
    const rendered = hostBootText(config, host("relay-1"), true).replace(CHAIN_VOLUME_PLACEHOLDER, "vol-0abc");
    expect(evaluateTerraformString(userData, { "aws_ebs_volume.chain.id": "vol-0abc" })).toBe(rendered);
    expect(decodeCloudConfig(rendered).write_files.find((f) => f.path === "/usr/local/sbin/pool-mount-chain-volume")?.content).toContain('device="/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol${CHAIN_VOLUME_ID#vol-}"');
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
