/**
 * What `image bake` does on the sandbox, one function per step: stage and verify the release archives, install the
 * binaries and the release's node files (`share/<network>/`), check the node files against the pool's genesis, check
 * versions and the tools the boot needs, smoke-test, search for key material, and clean up. Every step is a shell
 * script run through one SSH connection; each names what failed so the operator can look.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { isAbsolute, resolve } from "node:path";
import { hostLayout } from "../../config/host-layout";
import { DEFAULTS, type PoolConfig } from "../../config/schema";
import { releaseProblems } from "../../render/release-files";
import { readReleaseFacts, releaseNetworkDir } from "../pool/release-facts";
import type { Connection } from "../remote/connection";
import { OpsError } from "../remote/result";
import { shellQuote as q } from "../remote/shell";

export interface ArchiveSource {
  readonly url?: string | undefined;
  readonly file?: string | undefined;
  readonly sha256: string;
}

/** What the bake installed, as the binaries themselves report it. */
export interface InstalledVersions {
  readonly node: string;
  readonly cli: string;
  readonly exporter: string;
}

/** The bake's scratch directory on the sandbox: under the node's home, removed before imaging. */
export function workDir(config: PoolConfig): string {
  return `${config.node.home}/image-build`;
}

/** A configured `file` archive, read and checked on the operator's machine first (a wrong file fails before upload). */
export function readLocalArchive(source: ArchiveSource, field: string, configDir: string): Buffer {
  const path = isAbsolute(source.file!) ? source.file! : resolve(configDir, source.file!);
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    throw new OpsError("-", "stage archives", `${field}.file: cannot read ${path}: ${(error as Error).message}`, "fix the path in the pool config (relative to the config file)");
  }
  const actual = createHash("sha256").update(bytes).digest("hex");
  if (actual !== source.sha256) {
    throw new OpsError("-", "stage archives", `${field}.file ${path} has SHA-256 ${actual}, expected ${source.sha256}`, "use the archive the checksum names; nothing was changed");
  }
  return bytes;
}

/**
 * Puts the archive at `<work>/<name>` on the sandbox (upload or download there; the bake has made the work
 * directory) and verifies its SHA-256 there: the bytes checked are the bytes installed.
 */
export async function stageArchive(c: Connection, config: PoolConfig, source: ArchiveSource, name: string, field: string, local: Buffer | undefined): Promise<void> {
  const path = `${workDir(config)}/${name}`;
  if (local) {
    await c.put(path, local, { owner: "root", group: "root", mode: 0o644, backup: false, step: `upload ${field}` });
  } else {
    await c.runChecked(`curl -fsSL --retry 3 --proto '=https' -o ${q(path)} ${q(source.url!)}`, {
      step: `download ${field}`,
      timeoutSeconds: 1800,
      remedy: `check that the sandbox reaches ${source.url} (egress to the internet) and the URL is right`,
    });
  }
  const check = await c.run(`set -eu\nactual=$(sha256sum ${q(path)} | cut -d' ' -f1)\necho "$actual"\n[ "$actual" = ${q(source.sha256)} ]`, { step: `verify ${field}` });
  if (check.exitCode !== 0) {
    const actual = check.stdout.toString().trim() || "unreadable";
    throw new OpsError(c.name, `verify ${field}`, `${name} has SHA-256 ${actual}, expected ${source.sha256} (${field}.sha256): nothing was installed`, "check the release and its checksum file; a mismatch can mean a tampered download");
  }
}

/**
 * Extracts an archive and installs the named executables (found anywhere inside it) into `binDir`. A `lib/` the
 * archive ships beside its `bin/` goes beside `binDir` (`<binDir>/../lib/`), where binaries that load from their own
 * release tree find it; cardano-node's static Linux builds ship none.
 */
export async function installFromArchive(c: Connection, config: PoolConfig, archive: string, binaries: readonly string[], binDir: string, field: string): Promise<void> {
  const work = workDir(config);
  const dir = `${work}/${archive}.d`;
  const libDir = `${binDir.replace(/\/+$/, "").replace(/\/[^/]*$/, "")}/lib`;
  const lines = ["set -eu", `rm -rf ${q(dir)}`, `mkdir -p ${q(dir)}`, `tar -xzf ${q(`${work}/${archive}`)} -C ${q(dir)}`, `install -d -m 0755 ${q(binDir)}`];
  lines.push(`if [ -d ${q(`${dir}/lib`)} ] && [ -d ${q(`${dir}/bin`)} ]; then install -d -m 0755 ${q(libDir)}; cp -R ${q(`${dir}/lib`)}/. ${q(libDir)}/; chown -R root:root ${q(libDir)}; fi`);
  for (const binary of binaries) {
    lines.push(
      `f=$(find ${q(dir)} -type f -name ${q(binary)} | head -n 1)`,
      `if [ -z "$f" ]; then echo "the archive holds no ${binary}" >&2; exit 65; fi`,
      `install -m 0755 "$f" ${q(`${binDir}/${binary}`)}`,
    );
  }
  await c.runChecked(lines.join("\n"), { step: `install ${field}`, label: `install ${binaries.join(", ")} into ${binDir}`, remedy: `check ${field} is the right archive` });
}

/**
 * Installs the release's node files — `share/` of the archive, every network it ships — into the layout's release
 * share dir (root-owned, read-only to the node), replacing what an earlier bake put there.
 */
export async function installReleaseShare(c: Connection, config: PoolConfig, archive: string, field: string): Promise<void> {
  const work = workDir(config);
  const dir = `${work}/${archive}.d`;
  const target = hostLayout(config).releaseShareDir;
  const lines = [
    "set -eu",
    `share=$(find ${q(dir)} -type d -name share -path '*/share' | head -n 1)`,
    `if [ -z "$share" ] || [ ! -d "$share/${config.network}" ]; then echo "the archive ships no share/${config.network}/ (the release's node files)" >&2; exit 65; fi`,
    `rm -rf ${q(`${target}.new`)}`,
    `install -d -m 0755 -o root -g root ${q(`${target}.new`)}`,
    `cp -R "$share"/. ${q(`${target}.new`)}/`,
    `chown -R root:root ${q(`${target}.new`)}`,
    `chmod -R u=rwX,go=rX ${q(`${target}.new`)}`,
    `rm -rf ${q(target)}`,
    `mv ${q(`${target}.new`)} ${q(target)}`,
  ];
  await c.runChecked(lines.join("\n"), { step: `install ${field} node files`, label: `install the release's share/ into ${target}`, remedy: `check ${field} is a cardano-node release archive (it ships share/<network>/)` });
}

/** The installed node files of the pool's network must be complete and hash to the pool's genesis. */
export async function checkReleaseShare(c: Connection, config: PoolConfig): Promise<void> {
  const problems = releaseProblems(config, await readReleaseFacts(c, config));
  if (problems.length > 0) {
    throw new OpsError(c.name, "check the node files", `${releaseNetworkDir(config)}: ${problems.join("; ")}`, `the release's files do not match the pool's ${config.network} genesis: check the archive (image.nodeReleases) and node.version`);
  }
}

/**
 * The tools the boot scripts call: the AWS CLI (leader guard), python3 (node files, release checks), curl (IMDS),
 * looked up as the boot looks them up: on PATH, then in `node.binDir` (where the image's own binaries go).
 */
export async function checkBootTools(c: Connection, config: PoolConfig): Promise<void> {
  const path = `PATH="$PATH:${config.node.binDir}"`;
  const r = await c.run(`${path}; export PATH\nfor t in aws python3 curl; do command -v "$t" >/dev/null 2>&1 || echo "$t"; done\naws --version >/dev/null 2>&1 || echo 'aws (does not run)'`, { step: "check boot tools" });
  const missing = r.stdout.toString().split("\n").map((l) => l.trim()).filter(Boolean);
  if (missing.length > 0) throw new OpsError(c.name, "check boot tools", `the image lacks what the boot needs: ${[...new Set(missing)].join(", ")}`, "bake on Debian's EC2 image (it ships awscli, python3 and curl) or install them on the sandbox first");
}

/** The first `X.Y.Z` after `prefix` in a `--version` output. */
export function versionIn(output: string, prefix: RegExp): string | undefined {
  const match = new RegExp(`${prefix.source}\\s*v?(\\d+\\.\\d+\\.\\d+(?:\\.\\d+)?)`).exec(output);
  return match?.[1];
}

/**
 * node_exporter as a service of the image: its own system user and unit (ops/image/node_exporter.service), enabled,
 * so every instance made from the image serves its metrics from first boot; not started on the sandbox.
 */
export async function installExporterService(c: Connection, config: PoolConfig): Promise<void> {
  const unit = readFileSync(new URL("./node_exporter.service", import.meta.url), "utf8")
    .replace("{{binary}}", `${config.image.exporterBinDir}/node_exporter`)
    .replace("{{port}}", String(DEFAULTS.nodeExporterPort));
  await c.runChecked("id node_exporter >/dev/null 2>&1 || useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin node_exporter", { step: "node_exporter user" });
  await c.put("/etc/systemd/system/node_exporter.service", unit, { owner: "root", group: "root", mode: 0o644, backup: false, step: "node_exporter unit" });
  await c.runChecked("systemctl daemon-reload && systemctl enable node_exporter.service", { step: "enable node_exporter" });
}

/** Runs the installed binaries' `--version` and checks the node and exporter are the versions asked for. */
export async function checkVersions(c: Connection, config: PoolConfig, want: { node: string; exporter: string }): Promise<InstalledVersions> {
  const run = async (binary: string) => {
    const r = await c.runChecked(`${q(binary)} --version 2>&1`, { step: "check versions", remedy: `the installed ${binary} does not run on the sandbox: wrong architecture or missing libraries?` });
    return r.stdout.toString();
  };
  const node = versionIn(await run(`${config.node.binDir}/cardano-node`), /cardano-node/);
  const cli = versionIn(await run(`${config.node.binDir}/cardano-cli`), /cardano-cli/);
  const exporter = versionIn(await run(`${config.image.exporterBinDir}/node_exporter`), /version/);
  const problems: string[] = [];
  if (node !== want.node) problems.push(`cardano-node reports ${node ?? "no version"}, expected ${want.node}`);
  if (!cli) problems.push("cardano-cli reports no version");
  if (exporter !== want.exporter) problems.push(`node_exporter reports ${exporter ?? "no version"}, expected ${want.exporter}`);
  if (problems.length > 0) throw new OpsError(c.name, "check versions", problems.join("; "), "the archive is not the release the config names: fix image.nodeReleases / image.nodeExporter");
  return { node: node!, cli: cli!, exporter: exporter! };
}

/** Port node_exporter answers on during the smoke test (loopback only, stopped afterwards). */
const SMOKE_EXPORTER_PORT = 19_100;

/**
 * The smoke test: cardano-node and cardano-cli run their argument parsers (the binaries load and link), and
 * node_exporter starts and serves its own build info on loopback.
 */
export async function smokeTest(c: Connection, config: PoolConfig): Promise<void> {
  const bin = config.node.binDir;
  await c.runChecked(`set -eu\n${q(`${bin}/cardano-node`)} run --help >/dev/null\n${q(`${bin}/cardano-cli`)} --help >/dev/null 2>&1`, {
    step: "smoke test",
    label: "cardano-node run --help; cardano-cli --help",
    remedy: "the node binaries do not run on this image",
  });
  const exporter = `${config.image.exporterBinDir}/node_exporter`;
  const script = [
    `${q(exporter)} --web.listen-address=127.0.0.1:${SMOKE_EXPORTER_PORT} >/dev/null 2>&1 &`,
    "pid=$!",
    "ok=1",
    "for _ in $(seq 1 50); do",
    `  if curl -sf --max-time 2 http://127.0.0.1:${SMOKE_EXPORTER_PORT}/metrics | grep -q '^node_exporter_build_info'; then ok=0; break; fi`,
    "  sleep 0.2",
    "done",
    'kill "$pid" 2>/dev/null || true',
    'wait "$pid" 2>/dev/null || true',
    'exit "$ok"',
  ].join("\n");
  await c.runChecked(script, { step: "smoke test", label: "node_exporter serves /metrics", remedy: "node_exporter did not serve metrics within 10 s on the sandbox" });
}

/** Default places searched for key material: the node's home and everywhere an operator or cloud-init leaves files. */
export function keyScanPaths(config: PoolConfig): string[] {
  return config.image.keyScanPaths ?? [config.node.home, "/home", "/root", "/etc", "/tmp", "/var/tmp", "/var/lib/cloud"];
}

/**
 * Every file on the sandbox that is or may be key material: Cardano text envelopes of signing keys, op certs and
 * issue counters (by content), files named like them (by name), and anything at the producers' credential paths.
 */
export async function findKeyMaterial(c: Connection, config: PoolConfig): Promise<string[]> {
  const layout = hostLayout(config);
  const credentialPaths = [...Object.values(layout.activeCredentials), ...Object.values(layout.heldCredentials)];
  // The release's own files (genesis, configs) are public data, never key material: not searched by content.
  const paths = keyScanPaths(config).map(q).join(" ");
  const script = [
    `for d in ${paths}; do`,
    '  [ -e "$d" ] || continue',
    `  find "$d" -xdev -type f \\( -name '*.skey' -o -name '*.opcert' -o -name '*.counter' -o -name '*.cert' -path '*cardano*' \\) -print 2>/dev/null`,
    `  grep -rlIsE --exclude-dir=proc '"type"[[:space:]]*:[[:space:]]*"[^"]*(SigningKey|OperationalCertificate|IssueCounter)' "$d" 2>/dev/null`,
    "done",
    `for f in ${credentialPaths.map(q).join(" ")}; do [ -e "$f" ] && echo "$f"; done`,
    "true",
  ].join("\n");
  const r = await c.runChecked(script, { step: "search for key material", timeoutSeconds: 600, label: "search the sandbox for key material" });
  return [...new Set(r.stdout.toString().split("\n").map((l) => l.trim()).filter(Boolean))].sort();
}

/**
 * What makes the sandbox this instance and no other, removed so every instance made from the image starts as a
 * first boot of its own (as an AMI must): cloud-init's instance state and logs (users' keys, host keys and the user
 * data's files are then made again from each instance's own user data), the SSH host keys, every login user's
 * authorized keys (an image must not carry an operator's key: the pool config's keys come with each instance), the
 * fstab line of the sandbox's chain volume (another instance's volume id), the machine id and the journal.
 */
export async function forgetInstance(c: Connection, config: PoolConfig): Promise<void> {
  const mount = hostLayout(config).chainMount;
  const script = [
    "set -eu",
    `sed -i '\\| ${mount} |d' /etc/fstab`,
    "cloud-init clean --logs",
    "rm -f /etc/ssh/ssh_host_*",
    "for home in /root /home/*; do rm -f \"$home/.ssh/authorized_keys\"; done",
    ": > /etc/machine-id",
    "rm -f /var/lib/dbus/machine-id /var/lib/systemd/random-seed",
    "rm -rf /var/log/journal/*",
  ].join("\n");
  await c.runChecked(script, { step: "forget the instance", remedy: "the sandbox must run Debian's cloud-init (cloud-init clean)" });
}

/** Removes the scratch directory (archives, extracted trees) so the image carries only the installed binaries. */
export async function removeWorkDir(c: Connection, config: PoolConfig): Promise<void> {
  await c.runChecked(`rm -rf ${q(workDir(config))}`, { step: "clean up" });
}
