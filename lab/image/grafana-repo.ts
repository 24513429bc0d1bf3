/**
 * The lab's stand-in for Grafana's apt repository, https://apt.grafana.com. Grafana is not in Debian's archive and
 * this machine cannot reach Grafana's repository, so the monitoring host's boot script (stacks/boot/
 * prepare-monitoring.sh) installs the lab's stand-in package (lab/image/grafana-standin/package/) from a repository
 * laid out, signed and fetched exactly as Grafana's is:
 *
 *   gpg.key                                        the ASCII-armored signing key (the script dearmors it into
 *                                                  /etc/apt/keyrings/grafana.gpg and names it in signed-by=)
 *   dists/stable/{InRelease,Release,Release.gpg}   the suite, signed (clearsigned and detached)
 *   dists/stable/main/binary-amd64/Packages[.gz]   the index, with Size, MD5sum, SHA1 and SHA256 of each .deb
 *   pool/main/g/grafana/grafana_<version>_amd64.deb
 *
 * apt on a lab machine verifies all of it as it would against Grafana's repository (Debian's apt: InRelease signed
 * by a key in the signed-by keyring, the index hashes in it, the package hashes in the index), so a wrong key, a
 * stale index or a damaged package fails in the lab as it would on AWS. The signing key is a throwaway made for each
 * build in a temporary GNUPGHOME and deleted with its private half once the suite is signed.
 *
 * Built once per machine, cached under labCacheDir() keyed by its recipe (the package's files and this builder's
 * revision): change either and the next lab rebuilds it.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { gunzipSync, gzipSync } from "node:zlib";
import { labCacheDir, withCacheLock } from "./cache";

/** The stand-in package's files as they are installed, plus DEBIAN/ (its control template and maintainer scripts). */
export const GRAFANA_STANDIN_PACKAGE_DIR = join(dirname(fileURLToPath(import.meta.url)), "grafana-standin", "package");

/** The suite, component and architecture the boot script's source line names (`… stable main`, amd64 hosts). */
export const GRAFANA_REPO_SUITE = "stable";
export const GRAFANA_REPO_COMPONENT = "main";
export const GRAFANA_REPO_ARCHITECTURE = "amd64";

/** Who signs the lab's repository: names the lab, so a key listing on a lab host shows it is not Grafana's. */
const SIGNING_KEY_UID = "pool-ops lab stand-in for apt.grafana.com <apt-grafana-standin@pool-ops.invalid>";
/** Bump when the build steps below change in a way the package's files do not show. */
const BUILD_REVISION = 1;
/** Temporary GNUPGHOMEs are made with this prefix (tests check none is left behind). */
export const GNUPG_TEMP_PREFIX = "grafana-repo-gnupg-";

export interface GrafanaRepo {
  /** The directory to serve at https://apt.grafana.com/ (gpg.key, dists/, pool/). */
  readonly rootDir: string;
  /** `<rootDir>/gpg.key`: the ASCII-armored public key, as https://apt.grafana.com/gpg.key. */
  readonly gpgKeyFile: string;
  /** The stand-in package's version (the Version field; Grafana's health API reports it too). */
  readonly version: string;
  /** The package, relative to rootDir (the Filename field). */
  readonly packagePath: string;
}

interface PackageFile {
  readonly path: string;
  readonly mode: number;
  readonly content: Buffer;
}

/** The package tree's files, sorted, with the mode each gets in the package (0755 if executable in the tree). */
function packageFiles(): PackageFile[] {
  const out: PackageFile[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      if (name === "__pycache__" || name.endsWith(".pyc")) continue;
      if (statSync(path).isDirectory()) walk(path);
      else out.push({ path: relative(GRAFANA_STANDIN_PACKAGE_DIR, path), mode: statSync(path).mode & 0o111 ? 0o755 : 0o644, content: readFileSync(path) });
    }
  };
  walk(GRAFANA_STANDIN_PACKAGE_DIR);
  return out;
}

/** The stand-in's version, from the file the server reads too (usr/share/grafana/VERSION). */
export function grafanaStandinVersion(): string {
  const version = readFileSync(join(GRAFANA_STANDIN_PACKAGE_DIR, "usr/share/grafana/VERSION"), "utf8").trim();
  if (!/^[0-9][A-Za-z0-9.+~]*$/.test(version)) throw new Error(`usr/share/grafana/VERSION: expected a Debian upstream version without '-' or ':', got ${JSON.stringify(version)}`);
  return version;
}

export function grafanaRepoKey(): string {
  const hash = createHash("sha256").update(JSON.stringify({ BUILD_REVISION, GRAFANA_REPO_SUITE, GRAFANA_REPO_COMPONENT, GRAFANA_REPO_ARCHITECTURE, SIGNING_KEY_UID }));
  for (const file of packageFiles()) hash.update(`\0${file.path}\0${file.mode}\0`).update(file.content);
  return hash.digest("hex").slice(0, 16);
}

/** Why the repository cannot be built here, or undefined. */
export function grafanaRepoUnavailableReason(): string | undefined {
  for (const [path, pkg] of [["/usr/bin/dpkg-deb", "dpkg"], ["/usr/bin/gpg", "gpg"], ["/usr/bin/gpgv", "gpgv"], ["/usr/bin/gpgconf", "gpgconf"]] as const) {
    if (!existsSync(path)) return `${path} is missing: apt-get install ${pkg}`;
  }
  return undefined;
}

function run(cmd: string, args: readonly string[], options: { input?: string | Buffer; env?: NodeJS.ProcessEnv } = {}): Buffer {
  try {
    return execFileSync(cmd, args, { stdio: ["pipe", "pipe", "pipe"], input: options.input, env: options.env ?? process.env, maxBuffer: 64 * 1024 * 1024 });
  } catch (error) {
    const e = error as { stderr?: Buffer; stdout?: Buffer; message: string };
    const tail = `${e.stdout?.toString() ?? ""}${e.stderr?.toString() ?? ""}`.trim().split("\n").slice(-15).join("\n");
    throw new Error(`${cmd} ${args.slice(0, 6).join(" ")}…: ${tail || e.message}`);
  }
}

const digest = (algorithm: string, data: Buffer) => createHash(algorithm).update(data).digest("hex");

/** Paragraphs of a deb822 file (Packages, Release, control) as field maps; continuation lines joined with "\n". */
export function parseDeb822(text: string): Record<string, string>[] {
  const paragraphs: Record<string, string>[] = [];
  for (const block of text.split(/\n\s*\n/)) {
    if (!block.trim()) continue;
    const fields: Record<string, string> = {};
    let last: string | undefined;
    for (const line of block.split("\n").filter((l) => l.trim() !== "")) {
      if (/^\s/.test(line) && last) fields[last] = `${fields[last]}\n${line.trim()}`;
      else {
        const match = /^([A-Za-z0-9][A-Za-z0-9-]*):\s*(.*)$/.exec(line);
        if (!match) throw new Error(`not a deb822 field line: ${JSON.stringify(line)}`);
        last = match[1]!;
        fields[last] = match[2]!;
      }
    }
    paragraphs.push(fields);
  }
  return paragraphs;
}

/** Builds the .deb from the package tree: root-owned files, control rendered with the version and installed size. */
function buildPackage(work: string, outFile: string, version: string): void {
  const root = join(work, "pkgroot");
  let installedKiB = 0;
  for (const file of packageFiles()) {
    if (file.path === "DEBIAN/control.in") continue;
    const target = join(root, file.path);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, file.content);
    chmodSync(target, file.mode);
    if (!file.path.startsWith("DEBIAN/")) installedKiB += Math.ceil(file.content.length / 1024);
  }
  const template = readFileSync(join(GRAFANA_STANDIN_PACKAGE_DIR, "DEBIAN/control.in"), "utf8");
  writeFileSync(join(root, "DEBIAN/control"), template.replace("@VERSION@", version).replace("@INSTALLED_SIZE@", String(installedKiB)));
  run("sh", ["-c", 'find "$1" -type d -exec chmod 0755 {} +', "sh", root]);
  run("dpkg-deb", ["--root-owner-group", "--build", root, outFile]);
}

/** The index entry for a .deb: its control fields, then where it is and its hashes (as dpkg-scanpackages writes). */
function packagesEntry(debFile: string, filename: string): string {
  const deb = readFileSync(debFile);
  const control = run("dpkg-deb", ["--field", debFile]).toString().trimEnd();
  return `${control}\nFilename: ${filename}\nSize: ${deb.length}\nMD5sum: ${digest("md5", deb)}\nSHA1: ${digest("sha1", deb)}\nSHA256: ${digest("sha256", deb)}\n`;
}

function releaseFile(repo: string, indexPaths: readonly string[], date: Date): string {
  const base = join(repo, "dists", GRAFANA_REPO_SUITE);
  const files = indexPaths.map((path) => ({ path, data: readFileSync(join(base, path)) }));
  const section = (name: string, algorithm: string) => [`${name}:`, ...files.map((f) => ` ${digest(algorithm, f.data)} ${String(f.data.length).padStart(8)} ${f.path}`)];
  return [
    "Origin: pool-ops lab",
    "Label: stand-in for apt.grafana.com",
    `Suite: ${GRAFANA_REPO_SUITE}`,
    `Codename: ${GRAFANA_REPO_SUITE}`,
    // apt reads RFC 1123 dates in UTC (Debian's own Release files write "UTC").
    `Date: ${date.toUTCString().replace("GMT", "UTC")}`,
    `Architectures: ${GRAFANA_REPO_ARCHITECTURE}`,
    `Components: ${GRAFANA_REPO_COMPONENT}`,
    "Description: pool-ops lab stand-in for Grafana's apt repository (the grafana package is the lab's stand-in)",
    ...section("MD5Sum", "md5"),
    ...section("SHA1", "sha1"),
    ...section("SHA256", "sha256"),
    "",
  ].join("\n");
}

/** Signs Release with a throwaway key: writes gpg.key, InRelease and Release.gpg; the private key is gone after. */
function signRelease(repo: string): void {
  const home = mkdtempSync(join(tmpdir(), GNUPG_TEMP_PREFIX));
  const env = { ...process.env, GNUPGHOME: home, LC_ALL: "C" };
  const gpg = (...args: string[]) => run("gpg", ["--batch", "--homedir", home, ...args], { env });
  const suite = join(repo, "dists", GRAFANA_REPO_SUITE);
  try {
    // RSA 3072 signing-only, no expiry (the cached repository outlives any lab), no passphrase (it is never stored).
    gpg("--pinentry-mode", "loopback", "--passphrase", "", "--quick-generate-key", SIGNING_KEY_UID, "rsa3072", "sign", "never");
    writeFileSync(join(repo, "gpg.key"), gpg("--armor", "--export", SIGNING_KEY_UID));
    const sign = ["--digest-algo", "SHA512", "--local-user", SIGNING_KEY_UID];
    gpg(...sign, "--clearsign", "--output", join(suite, "InRelease"), join(suite, "Release"));
    gpg(...sign, "--armor", "--detach-sign", "--output", join(suite, "Release.gpg"), join(suite, "Release"));
  } finally {
    // gpg started an agent for this GNUPGHOME: end it, then remove the home, and the private key with it.
    try {
      run("gpgconf", ["--homedir", home, "--kill", "all"], { env });
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  }
}

/**
 * Checks the built repository as apt will: the key dearmored as the boot script does (`gpg --dearmor`) verifies
 * InRelease and Release.gpg (gpgv, as apt calls it), InRelease carries exactly Release, the indexes have the hashes
 * Release lists, and the one Packages entry names the .deb with its true size and hashes.
 */
export function verifyGrafanaRepo(repo: string, version: string): void {
  const home = mkdtempSync(join(tmpdir(), GNUPG_TEMP_PREFIX));
  const env = { ...process.env, GNUPGHOME: home, LC_ALL: "C" };
  const suite = join(repo, "dists", GRAFANA_REPO_SUITE);
  try {
    const keyring = join(home, "grafana.gpg");
    run("gpg", ["--batch", "--homedir", home, "--dearmor", "--output", keyring, join(repo, "gpg.key")], { env });
    const signed = run("gpgv", ["--homedir", home, "--keyring", keyring, "--output", "-", join(suite, "InRelease")], { env });
    const release = readFileSync(join(suite, "Release"));
    if (!signed.equals(release)) throw new Error("InRelease does not carry the same text as Release");
    run("gpgv", ["--homedir", home, "--keyring", keyring, join(suite, "Release.gpg"), join(suite, "Release")], { env });
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
  const [fields] = parseDeb822(readFileSync(join(suite, "Release"), "utf8"));
  for (const line of (fields?.SHA256 ?? "").split("\n").filter(Boolean)) {
    const [hash, size, path] = line.trim().split(/\s+/);
    const data = readFileSync(join(suite, path!));
    if (digest("sha256", data) !== hash || data.length !== Number(size)) throw new Error(`Release: ${path} does not match its SHA256 and size`);
  }
  const index = join(suite, GRAFANA_REPO_COMPONENT, `binary-${GRAFANA_REPO_ARCHITECTURE}`);
  const packages = readFileSync(join(index, "Packages"));
  if (!gunzipSync(readFileSync(join(index, "Packages.gz"))).equals(packages)) throw new Error("Packages.gz does not unpack to Packages");
  const entries = parseDeb822(packages.toString("utf8"));
  const entry = entries[0];
  if (entries.length !== 1 || !entry) throw new Error(`Packages: expected one entry, found ${entries.length}`);
  const expected = { Package: "grafana", Version: version, Architecture: GRAFANA_REPO_ARCHITECTURE, Filename: grafanaPackagePath(version) };
  for (const [field, value] of Object.entries(expected)) {
    if (entry[field] !== value) throw new Error(`Packages: ${field} is ${JSON.stringify(entry[field])}, expected ${JSON.stringify(value)}`);
  }
  const deb = readFileSync(join(repo, entry.Filename!));
  if (Number(entry.Size) !== deb.length || entry.MD5sum !== digest("md5", deb) || entry.SHA256 !== digest("sha256", deb)) {
    throw new Error(`Packages: Size/MD5sum/SHA256 of ${entry.Filename} do not match the file`);
  }
}

/** Where the package lies in the pool, as Grafana's repository lays it out. */
export function grafanaPackagePath(version: string): string {
  return `pool/${GRAFANA_REPO_COMPONENT}/g/grafana/grafana_${version}_${GRAFANA_REPO_ARCHITECTURE}.deb`;
}

function buildGrafanaRepo(dir: string, version: string): void {
  const staging = `${dir}.building`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  chmodSync(staging, 0o755);
  const repo = join(staging, "repo");
  const packagePath = grafanaPackagePath(version);
  mkdirSync(dirname(join(repo, packagePath)), { recursive: true });
  buildPackage(join(staging, "work"), join(repo, packagePath), version);
  const indexDir = `${GRAFANA_REPO_COMPONENT}/binary-${GRAFANA_REPO_ARCHITECTURE}`;
  const suite = join(repo, "dists", GRAFANA_REPO_SUITE);
  mkdirSync(join(suite, indexDir), { recursive: true });
  const packages = Buffer.from(packagesEntry(join(repo, packagePath), packagePath));
  writeFileSync(join(suite, indexDir, "Packages"), packages);
  writeFileSync(join(suite, indexDir, "Packages.gz"), gzipSync(packages, { level: 9 }));
  writeFileSync(join(suite, "Release"), releaseFile(repo, [`${indexDir}/Packages`, `${indexDir}/Packages.gz`], new Date()));
  signRelease(repo);
  verifyGrafanaRepo(repo, version);
  rmSync(join(staging, "work"), { recursive: true, force: true });
  run("sh", ["-c", 'find "$1" -type d -exec chmod 0755 {} + && find "$1" -type f -exec chmod 0644 {} +', "sh", repo]);
  writeFileSync(join(staging, ".complete"), `${new Date().toISOString()}\n`);
  rmSync(dir, { recursive: true, force: true });
  renameSync(staging, dir);
}

/**
 * The file under `rootDir` that an HTTP request for `requestPath` names, or undefined (then answer 404). apt quotes
 * '~' in the paths it requests (%7e: the package's version has one), so the path is percent-decoded first; a query
 * string is ignored; anything that would leave rootDir, or names a directory, is refused.
 */
export function grafanaRepoFile(rootDir: string, requestPath: string): string | undefined {
  let path: string;
  try {
    path = decodeURIComponent(requestPath.split("?")[0] ?? "");
  } catch {
    return undefined;
  }
  if (!path.startsWith("/") || path.includes("\0") || path.split("/").some((part) => part === ".." || part === ".")) return undefined;
  const file = join(rootDir, path);
  if (relative(rootDir, file).startsWith("..") || !existsSync(file) || !statSync(file).isFile()) return undefined;
  return file;
}

/** The cached repository, built first if this machine has none for the current recipe (a few seconds). */
export async function ensureGrafanaRepo(log: (line: string) => void = () => undefined): Promise<GrafanaRepo> {
  const key = grafanaRepoKey();
  const version = grafanaStandinVersion();
  const dir = join(labCacheDir(), `grafana-repo-${key}`);
  return withCacheLock(`grafana-repo-${key}`, () => {
    if (!existsSync(join(dir, ".complete"))) {
      const why = grafanaRepoUnavailableReason();
      if (why) throw new Error(`cannot build the lab's stand-in for apt.grafana.com: ${why}`);
      log(`building the lab's stand-in for apt.grafana.com (grafana ${version}; once per machine; cache ${dir})`);
      buildGrafanaRepo(dir, version);
    }
    const rootDir = join(dir, "repo");
    return { rootDir, gpgKeyFile: join(rootDir, "gpg.key"), version, packagePath: grafanaPackagePath(version) };
  });
}
