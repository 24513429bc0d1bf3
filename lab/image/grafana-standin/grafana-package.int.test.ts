/**
 * The stand-in package on a booted lab machine (the lab's Debian 12 base image, systemd as PID 1): apt installs it
 * from the signed repository with the dearmored key in signed-by=, over files cloud-init wrote first (the monitoring
 * host's provisioning and dashboards, the pool's drop-in); the boot script's Grafana steps then start
 * grafana-server.service under systemd with Grafana's sandboxing, and the pool's own publish script publishes the
 * delegator dashboard through it.
 *
 * Differences from the monitoring host's boot, each because this test has no lab VPC: the source line names the
 * repository by `file:` (the lab serves it at https://apt.grafana.com), the key is dearmored on this machine (the
 * host has no gpg until it installs it from Debian's archive), and the pool's drop-in reads the admin password with
 * Grafana's `$__file{}` (the form Grafana's package reads; see the README's lab section).
 */
import { execFileSync, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { delegatorDashboard } from "../../../monitoring/dashboards";
import { grafanaServiceDropIn, publicDashboardAccessToken, publishDashboardScript } from "../../../monitoring/grafana-access";
import { GRAFANA_DROP_IN, monitoringFiles, PUBLISH_DASHBOARD_SCRIPT } from "../../../monitoring/monitoring-files";
import { testPool } from "../../../test/pool-fixtures";
import { Machine } from "../../machines/machine";
import { baseImageKey } from "../base-image";
import { ensureGrafanaRepo, grafanaRepoUnavailableReason } from "../grafana-repo";

const BASE = join(process.env.POOL_LAB_CACHE ?? "/var/cache/pool-ops-lab", `base-${baseImageKey()}`);

function unavailable(): string | undefined {
  if (process.getuid?.() !== 0) return "not root (booting a machine needs systemd-nspawn and a network namespace)";
  if (!existsSync("/usr/bin/systemd-nspawn")) return "systemd-nspawn is missing (apt-get install systemd-container)";
  if (!existsSync(join(BASE, ".complete"))) return `the lab's base image is not built on this machine (${BASE}; npm run lab:up builds it)`;
  return grafanaRepoUnavailableReason();
}
const SKIP = unavailable();

const config = testPool({ monitoring: { alertEmails: ["ops@example.org"], publicDashboard: { enabled: true, cidrs: ["0.0.0.0/0"] } } });
const TOKEN = publicDashboardAccessToken(config.name);
const TITLE = (delegatorDashboard(config.name) as { title: string }).title;

/** The pool's drop-in, with the admin password read in the form Grafana's package reads (`$__file{}`). */
function dropIn(): string {
  return grafanaServiceDropIn(config).replace(/^Environment=GF_SECURITY_ADMIN_PASSWORD__FILE=(.*)$/m, (_, file: string) => `Environment=GF_SECURITY_ADMIN_PASSWORD=$__file{${file}}`);
}

describe.skipIf(SKIP)(`the Grafana stand-in package on a booted lab machine${SKIP ? ` [skipped: ${SKIP}]` : ""}`, () => {
  const dir = mkdtempSync(join(tmpdir(), "grafana-package-"));
  const namespace = `gfs-${randomBytes(3).toString("hex")}`;
  let machine: Machine;

  const inside = (script: string) => {
    const r = spawnSync("nsenter", ["-t", String(machine.initPid()), "-a", "--", "sh", "-c", script], {
      env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", LANG: "C.UTF-8", DEBIAN_FRONTEND: "noninteractive" },
      encoding: "utf8",
      timeout: 120_000,
    });
    return { code: r.status, out: `${r.stdout}${r.stderr}`, stdout: r.stdout.trim() };
  };
  const checked = (script: string) => {
    const r = inside(script);
    if (r.code !== 0) throw new Error(`inside the machine, \`${script}\` exited ${r.code}:\n${r.out}`);
    return r.stdout;
  };
  /** What a client in the machine's network sees at `path` on port 3000: the body, a space, the HTTP status. */
  const fromLab = (path: string) => spawnSync("ip", ["netns", "exec", namespace, "curl", "-s", "-w", " %{http_code}", `http://127.0.0.1:3000${path}`], { encoding: "utf8" }).stdout;

  beforeAll(async () => {
    const repo = await ensureGrafanaRepo();
    execFileSync("ip", ["netns", "add", namespace]);
    execFileSync("ip", ["-n", namespace, "link", "set", "lo", "up"]);
    machine = new Machine({ id: `i-${randomBytes(8).toString("hex").slice(0, 17)}`, cgroupParent: "grafana-test", name: "grafana-package-test", layers: [join(BASE, "root")], dir, networkNamespace: namespace });
    machine.writeSeed(Buffer.from("#cloud-config\n{}\n"), "monitoring");
    // What cloud-init writes before the boot script runs (as root, 0644), and the repository with its key.
    const upper = join(dir, "upper");
    const put = (path: string, content: string | Buffer, mode = 0o644) => {
      mkdirSync(dirname(join(upper, path)), { recursive: true });
      writeFileSync(join(upper, path), content, { mode });
    };
    for (const file of monitoringFiles(config, { alertTopicArn: "arn:aws:sns:eu-west-1:123456789012:alerts" })) {
      if (file.path.startsWith("/etc/grafana/") || file.path.startsWith("/var/lib/grafana/")) put(file.path, file.content, Number.parseInt(file.mode, 8));
    }
    put(GRAFANA_DROP_IN, dropIn());
    put(PUBLISH_DASHBOARD_SCRIPT, publishDashboardScript(config), 0o755);
    mkdirSync(join(upper, "srv"), { recursive: true });
    execFileSync("cp", ["-a", repo.rootDir, join(upper, "srv/apt.grafana.com")]);
    const keyring = execFileSync("gpg", ["--batch", "--homedir", dir, "--dearmor"], { input: readFileSync(repo.gpgKeyFile), stdio: ["pipe", "pipe", "pipe"] });
    put("/etc/apt/keyrings/grafana.gpg", keyring);
    put("/etc/apt/sources.list.d/grafana.list", "deb [signed-by=/etc/apt/keyrings/grafana.gpg] file:/srv/apt.grafana.com stable main\n");
    await machine.start();
    const deadline = Date.now() + 60_000;
    for (;;) {
      const state = inside("systemctl is-system-running").stdout;
      if (state === "running" || state === "degraded") break;
      if (Date.now() > deadline) throw new Error(`the machine did not finish booting in 60 s (state ${state}):\n${machine.consoleTail(30)}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }, 120_000);

  afterAll(async () => {
    if (machine) await machine.stop(30_000);
    spawnSync("ip", ["netns", "del", namespace]);
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it("installs with apt from the signed repository, doing what Grafana's postinst does", () => {
    const onlyGrafana = "-o Dir::Etc::sourcelist=/etc/apt/sources.list.d/grafana.list -o Dir::Etc::sourceparts=-";
    checked(`apt-get ${onlyGrafana} update -qq`);
    checked(`apt-get ${onlyGrafana} install -y -qq grafana`);
    const [, , uid, , , home, shell] = checked("getent passwd grafana").split(":");
    expect([Number(uid) < 1000, home, shell]).toEqual([true, "/usr/share/grafana", "/bin/false"]);
    expect(checked("stat -c '%U:%G %a' /var/lib/grafana /var/log/grafana /var/lib/grafana/dashboards/delegator.json").split("\n")).toEqual(["grafana:grafana 755", "grafana:grafana 755", "grafana:grafana 644"]);
    // cloud-init's files (0644 root:root) now root:grafana 0640; the provisioning directory existed, so no sample.
    expect(checked("stat -c '%U:%G %a' /etc/grafana/provisioning/dashboards/pool.yaml /etc/grafana/grafana.ini").split("\n")).toEqual(["root:grafana 640", "root:grafana 640"]);
    expect(checked("ls /etc/grafana/provisioning/dashboards")).toBe("pool.yaml");
    // As Grafana's package: not enabled, not started on install.
    expect(inside("systemctl is-enabled grafana-server").stdout).toBe("disabled");
    expect(inside("systemctl is-active grafana-server").stdout).toBe("inactive");
  });

  it("runs under systemd as grafana with the pool's drop-in, and the pool's publish script publishes the delegator dashboard", () => {
    // The boot script's Grafana steps (stacks/boot/prepare-monitoring.sh).
    checked("(umask 077; openssl rand -hex 24 | tr -d '\\n' > /etc/grafana/admin-password) && chown root:grafana /etc/grafana/admin-password && chmod 0640 /etc/grafana/admin-password");
    checked("systemctl daemon-reload && systemctl enable grafana-server && systemctl restart grafana-server");
    const published = checked(PUBLISH_DASHBOARD_SCRIPT);
    expect(published).toContain(`delegator dashboard published at /public-dashboards/${TOKEN}`);
    expect(checked(PUBLISH_DASHBOARD_SCRIPT)).toContain("already public");
    expect(checked("ps -o user= -p $(systemctl show -p MainPID --value grafana-server)")).toBe("grafana");
    expect(checked("systemctl show -p Environment --value grafana-server")).toContain("GF_PUBLIC_DASHBOARDS_ENABLED=true");

    // Anyone reaching port 3000 sees the public dashboard, and nothing else without a login.
    const view = fromLab(`/api/public/dashboards/${TOKEN}`);
    expect(view.endsWith(" 200")).toBe(true);
    expect(view).toContain(TITLE);
    expect(fromLab("/api/search")).toMatch(/ 401$/);
    expect(fromLab("/api/health")).toMatch(/"database": "ok".* 200$/);
    expect(checked("journalctl -u grafana-server --no-pager -o cat")).not.toContain("is ignored");
  });

  it("keeps the public dashboard across a restart (it is in /var/lib/grafana)", async () => {
    checked("systemctl restart grafana-server");
    const deadline = Date.now() + 15_000;
    while (!fromLab("/api/health").endsWith(" 200")) {
      if (Date.now() > deadline) throw new Error(`grafana-server did not answer after a restart:\n${inside("journalctl -u grafana-server --no-pager -n 20").out}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(fromLab(`/api/public/dashboards/${TOKEN}`)).toMatch(/ 200$/);
  });
});
