/**
 * The lab's stand-in for apt.grafana.com, built into a temporary cache: laid out as Grafana's repository, signed so
 * that the key the boot script dearmors verifies it (and nothing else does), its index true to the package, and the
 * package holding the files, owners and modes of Grafana's own. Checked with the tools apt uses (gpgv, dpkg-deb).
 */
import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { baseImageKey } from "./base-image";
import {
  ensureGrafanaRepo,
  GNUPG_TEMP_PREFIX,
  grafanaRepoFile,
  GRAFANA_STANDIN_PACKAGE_DIR,
  grafanaRepoKey,
  grafanaRepoUnavailableReason,
  grafanaStandinVersion,
  parseDeb822,
  verifyGrafanaRepo,
  type GrafanaRepo,
} from "./grafana-repo";

const SKIP = process.getuid?.() !== 0 ? "not root (dpkg-deb builds root-owned packages into the lab cache as root)" : grafanaRepoUnavailableReason();
const sha256 = (data: Buffer) => execFileSync("sha256sum", { input: data }).toString().split(" ")[0];
const md5 = (data: Buffer) => execFileSync("md5sum", { input: data }).toString().split(" ")[0];

/** Every package the stand-in may depend on is in Debian 12's EC2 image (python3 because cloud-init needs it). */
const IN_THE_EC2_IMAGE = ["adduser", "python3", "python3-yaml"];

describe.skipIf(SKIP)(`the lab's stand-in for apt.grafana.com${SKIP ? ` [skipped: ${SKIP}]` : ""}`, () => {
  const previousCache = process.env.POOL_LAB_CACHE;
  const cache = mkdtempSync(join(tmpdir(), "grafana-repo-cache-"));
  const scratch = mkdtempSync(join(tmpdir(), "grafana-repo-test-"));
  const built: string[] = [];
  let repo: GrafanaRepo;
  let suite: string;

  beforeAll(async () => {
    process.env.POOL_LAB_CACHE = cache;
    repo = await ensureGrafanaRepo((line) => built.push(line));
    suite = join(repo.rootDir, "dists/stable");
  }, 60_000);
  afterAll(() => {
    if (previousCache === undefined) delete process.env.POOL_LAB_CACHE;
    else process.env.POOL_LAB_CACHE = previousCache;
    rmSync(cache, { recursive: true, force: true });
    rmSync(scratch, { recursive: true, force: true });
  });

  /** The key as the boot script installs it: `curl …/gpg.key | gpg --dearmor -o /etc/apt/keyrings/grafana.gpg`. */
  function dearmoredKeyring(): string {
    const keyring = join(scratch, "grafana.gpg");
    if (!existsSync(keyring)) execFileSync("gpg", ["--batch", "--homedir", scratch, "--dearmor", "--output", keyring], { input: readFileSync(repo.gpgKeyFile), stdio: ["pipe", "pipe", "pipe"] });
    return keyring;
  }
  const gpgv = (keyring: string, ...files: string[]) => {
    try {
      execFileSync("gpgv", ["--homedir", scratch, "--keyring", keyring, ...files], { stdio: "pipe" });
      return "good";
    } catch (error) {
      return `refused: ${(error as { stderr?: Buffer }).stderr?.toString() ?? ""}`;
    }
  };

  it("is laid out as an apt repository served at https://apt.grafana.com", () => {
    expect(built).toHaveLength(1);
    expect(repo.gpgKeyFile).toBe(join(repo.rootDir, "gpg.key"));
    expect(readFileSync(repo.gpgKeyFile, "utf8")).toMatch(/^-----BEGIN PGP PUBLIC KEY BLOCK-----\n[\s\S]+-----END PGP PUBLIC KEY BLOCK-----\n$/);
    for (const path of ["dists/stable/InRelease", "dists/stable/Release", "dists/stable/Release.gpg", "dists/stable/main/binary-amd64/Packages", "dists/stable/main/binary-amd64/Packages.gz", `pool/main/g/grafana/grafana_${grafanaStandinVersion()}_amd64.deb`]) {
      expect(existsSync(join(repo.rootDir, path)), path).toBe(true);
    }
    expect(repo.packagePath).toBe(`pool/main/g/grafana/grafana_${repo.version}_amd64.deb`);
  });

  it("keeps no private key: nothing of the signing key's secret half is left in the cache or a temporary GNUPGHOME", () => {
    const files = execFileSync("find", [cache, "-type", "f"], { encoding: "utf8" }).trim().split("\n");
    for (const file of files) expect(readFileSync(file).includes("PRIVATE KEY"), file).toBe(false);
    expect(files.some((f) => /private-keys-v1\.d|secring|pubring/.test(f))).toBe(false);
    expect(readdirSync(tmpdir()).filter((name) => name.startsWith(GNUPG_TEMP_PREFIX))).toEqual([]);
    const agents = execFileSync("ps", ["-eo", "args="], { encoding: "utf8" }).split("\n").filter((l) => l.includes(GNUPG_TEMP_PREFIX));
    expect(agents).toEqual([]);
  });

  it("is signed by the key at gpg.key once dearmored as the boot script does, and by no other", () => {
    const keyring = dearmoredKeyring();
    expect(gpgv(keyring, join(suite, "InRelease"))).toBe("good");
    expect(gpgv(keyring, join(suite, "Release.gpg"), join(suite, "Release"))).toBe("good");
    // Debian's archive keys do not sign it.
    expect(gpgv("/usr/share/keyrings/debian-archive-keyring.gpg", join(suite, "InRelease"))).toMatch(/^refused/);
    // A Release changed after signing is refused.
    const tampered = join(scratch, "Release");
    writeFileSync(tampered, readFileSync(join(suite, "Release"), "utf8").replace("Suite: stable", "Suite: testing"));
    expect(gpgv(keyring, join(suite, "Release.gpg"), tampered)).toMatch(/BAD signature/);
  });

  it("lists its indexes in Release with their true sizes and hashes, for suite stable, component main, amd64", () => {
    const [release] = parseDeb822(readFileSync(join(suite, "Release"), "utf8"));
    expect(release).toMatchObject({ Suite: "stable", Codename: "stable", Components: "main", Architectures: "amd64" });
    expect(Date.parse(release!.Date!.replace(" UTC", " GMT"))).toBeLessThanOrEqual(Date.now());
    const listed = release!.SHA256!.split("\n").filter(Boolean).map((l) => l.trim().split(/\s+/));
    expect(listed.map(([, , path]) => path)).toEqual(["main/binary-amd64/Packages", "main/binary-amd64/Packages.gz"]);
    for (const [hash, size, path] of listed) {
      const data = readFileSync(join(suite, path!));
      expect([sha256(data), data.length], path).toEqual([hash, Number(size)]);
    }
    const packages = readFileSync(join(suite, "main/binary-amd64/Packages"));
    expect(gunzipSync(readFileSync(join(suite, "main/binary-amd64/Packages.gz"))).equals(packages)).toBe(true);
  });

  it("indexes the package with its true Size, MD5sum and SHA256, and depends only on what Debian's EC2 image has", () => {
    const entries = parseDeb822(readFileSync(join(suite, "main/binary-amd64/Packages"), "utf8"));
    expect(entries).toHaveLength(1);
    const entry = entries[0]!;
    expect(entry).toMatchObject({ Package: "grafana", Version: grafanaStandinVersion(), Architecture: "amd64", Filename: repo.packagePath });
    const deb = readFileSync(join(repo.rootDir, repo.packagePath));
    expect([Number(entry.Size), entry.MD5sum, entry.SHA256]).toEqual([deb.length, md5(deb), sha256(deb)]);
    const depends = entry.Depends!.split(",").map((d) => d.trim());
    expect(depends.every((d) => IN_THE_EC2_IMAGE.includes(d)), entry.Depends).toBe(true);
    // Installed in the lab's base image (made as Debian's EC2 image is), when this machine has it.
    const base = join(previousCache ?? "/var/cache/pool-ops-lab", `base-${baseImageKey()}`, "root");
    if (existsSync(join(base, "var/lib/dpkg/status"))) {
      const installed = parseDeb822(readFileSync(join(base, "var/lib/dpkg/status"), "utf8")).filter((p) => p.Status === "install ok installed").map((p) => p.Package);
      for (const d of depends) expect(installed, d).toContain(d);
    }
  });

  it("fails its build-time check when the index or a signature does not match", () => {
    const copy = join(scratch, "copy");
    execFileSync("cp", ["-a", repo.rootDir, copy]);
    expect(() => verifyGrafanaRepo(copy, repo.version)).not.toThrow();
    const packages = join(copy, "dists/stable/main/binary-amd64/Packages");
    writeFileSync(packages, readFileSync(packages, "utf8").replace(/^Size: \d+$/m, "Size: 1"));
    expect(() => verifyGrafanaRepo(copy, repo.version)).toThrow(/Release: main\/binary-amd64\/Packages does not match/);
    copyFileSync(join(repo.rootDir, "dists/stable/Release.gpg"), join(copy, "dists/stable/InRelease"));
    expect(() => verifyGrafanaRepo(copy, repo.version)).toThrow(/gpgv/);
  });

  it("packages Grafana's files as root:root with Grafana's modes, the unit named grafana-server.service", () => {
    const deb = join(repo.rootDir, repo.packagePath);
    const listing = execFileSync("dpkg-deb", ["--contents", deb], { encoding: "utf8" }).trim().split("\n");
    const entries = new Map(listing.map((line) => {
      const [mode, owner, , , , path] = line.split(/\s+/);
      return [path!.replace(/^\.\//, "/"), { mode: mode!, owner: owner! }];
    }));
    expect([...entries.values()].every((e) => e.owner === "root/root")).toBe(true);
    expect(entries.get("/usr/sbin/grafana-server")?.mode).toBe("-rwxr-xr-x");
    expect(entries.get("/lib/systemd/system/grafana-server.service")?.mode).toBe("-rw-r--r--");
    expect(entries.get("/etc/default/grafana-server")?.mode).toBe("-rw-r--r--");
    expect([...entries.keys()].some((p) => p.includes("__pycache__") || p.endsWith(".pyc"))).toBe(false);

    const unpacked = join(scratch, "unpacked");
    execFileSync("dpkg-deb", ["--raw-extract", deb, unpacked]);
    for (const file of ["usr/sbin/grafana-server", "lib/systemd/system/grafana-server.service", "usr/share/grafana/standin/api.py", "DEBIAN/postinst"]) {
      expect(readFileSync(join(unpacked, file)).equals(readFileSync(join(GRAFANA_STANDIN_PACKAGE_DIR, file))), file).toBe(true);
    }
    expect(statSync(join(unpacked, "DEBIAN/postinst")).mode & 0o777).toBe(0o755);
    expect(readFileSync(join(unpacked, "DEBIAN/conffiles"), "utf8").trim()).toBe("/etc/default/grafana-server");
    const [control] = parseDeb822(readFileSync(join(unpacked, "DEBIAN/control"), "utf8"));
    expect(control).toMatchObject({ Package: "grafana", Version: grafanaStandinVersion(), Architecture: "amd64" });
    expect(Number(control!["Installed-Size"])).toBeGreaterThan(0);
    const unit = readFileSync(join(unpacked, "lib/systemd/system/grafana-server.service"), "utf8");
    expect(unit).toMatch(/^User=grafana$/m);
    expect(unit).toMatch(/^EnvironmentFile=\/etc\/default\/grafana-server$/m);
    expect(unit).toMatch(/^ExecStart=\/usr\/sbin\/grafana-server /m);
  });

  it("maps the paths apt requests to its files (apt sends the version's '~' as %7e) and refuses any other", () => {
    const deb = join(repo.rootDir, repo.packagePath);
    expect(grafanaRepoFile(repo.rootDir, `/${repo.packagePath.replace("~", "%7e")}`)).toBe(deb);
    expect(grafanaRepoFile(repo.rootDir, `/${repo.packagePath}`)).toBe(deb);
    expect(grafanaRepoFile(repo.rootDir, "/gpg.key")).toBe(repo.gpgKeyFile);
    expect(grafanaRepoFile(repo.rootDir, "/dists/stable/InRelease?x=1")).toBe(join(suite, "InRelease"));
    for (const refused of ["/dists/stable", "/", "/../grafana-repo", "/dists/../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd", "/dists/%00", "/nope", "relative", "/%zz"]) {
      expect(grafanaRepoFile(repo.rootDir, refused), refused).toBeUndefined();
    }
  });

  it("is built once per recipe: the next call reuses the cache entry", async () => {
    const mtime = statSync(join(suite, "InRelease")).mtimeMs;
    const again = await ensureGrafanaRepo((line) => built.push(line));
    expect(again.rootDir).toBe(repo.rootDir);
    expect(built).toHaveLength(1);
    expect(statSync(join(suite, "InRelease")).mtimeMs).toBe(mtime);
    expect(repo.rootDir).toContain(`grafana-repo-${grafanaRepoKey()}`);
  });
});
