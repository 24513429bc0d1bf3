/**
 * A real node_exporter for the lab's golden images: Prometheus's node_exporter binary as Debian 12 ships it
 * (package prometheus-node-exporter, fetched from deb.debian.org, which this machine reaches), repacked in the
 * layout of node_exporter's own release archive (`node_exporter-<v>.linux-amd64/node_exporter` in
 * `node_exporter-<v>.linux-amd64.tar.gz`), so `pool-ops image bake` installs and checks a real exporter exactly as it
 * would the upstream release. Built once per machine and cached.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { labCacheDir, withCacheLock } from "./cache";

const ARCHIVE = "http://deb.debian.org/debian";
const SUITE = "bookworm";
const PACKAGE = "prometheus-node-exporter";

export interface NodeExporterRelease {
  /** node_exporter's own version (the Debian version without its revision, e.g. 1.5.0). */
  readonly version: string;
  readonly file: string;
  readonly sha256: string;
}

/** The package's entry in bookworm's main amd64 index: its version and where its .deb is. */
async function packageEntry(): Promise<{ version: string; filename: string; sha256: string }> {
  const response = await fetch(`${ARCHIVE}/dists/${SUITE}/main/binary-amd64/Packages.gz`, { signal: AbortSignal.timeout(120_000) });
  if (!response.ok) throw new Error(`deb.debian.org answered ${response.status} for bookworm's package index`);
  const index = gunzipSync(Buffer.from(await response.arrayBuffer())).toString("utf8");
  const stanza = index.split("\n\n").find((s) => s.startsWith(`Package: ${PACKAGE}\n`));
  if (!stanza) throw new Error(`${PACKAGE} is not in Debian ${SUITE}'s index`);
  const field = (name: string) => new RegExp(`^${name}: (.+)$`, "m").exec(stanza)?.[1]?.trim();
  const version = field("Version");
  const filename = field("Filename");
  const sha256 = field("SHA256");
  if (!version || !filename || !sha256) throw new Error(`${PACKAGE}'s index entry lacks Version, Filename or SHA256`);
  return { version, filename, sha256 };
}

export async function ensureNodeExporterRelease(log: (line: string) => void = () => undefined): Promise<NodeExporterRelease> {
  const entry = await packageEntry();
  const version = entry.version.replace(/^\d+:/, "").replace(/[-+~].*$/, "");
  const dir = join(labCacheDir(), `node-exporter-${entry.sha256.slice(0, 16)}`);
  const name = `node_exporter-${version}.linux-amd64`;
  const archive = join(dir, `${name}.tar.gz`);
  return withCacheLock(`node-exporter-${entry.sha256.slice(0, 16)}`, async () => {
    if (!existsSync(archive)) {
      log(`repacking Debian's ${PACKAGE} ${entry.version} as node_exporter ${version}'s release archive`);
      const response = await fetch(`${ARCHIVE}/${entry.filename}`, { signal: AbortSignal.timeout(300_000) });
      if (!response.ok) throw new Error(`deb.debian.org answered ${response.status} for ${entry.filename}`);
      const deb = Buffer.from(await response.arrayBuffer());
      const actual = createHash("sha256").update(deb).digest("hex");
      // The index is what Debian signs (through Release); the package must be the one it names.
      if (actual !== entry.sha256) throw new Error(`${entry.filename}: SHA-256 ${actual}, but Debian's index says ${entry.sha256}`);
      const work = mkdtempSync(join(tmpdir(), "node-exporter-"));
      try {
        writeFileSync(join(work, "package.deb"), deb);
        execFileSync("dpkg-deb", ["-x", join(work, "package.deb"), join(work, "root")]);
        const release = join(work, "release", name);
        mkdirSync(release, { recursive: true });
        execFileSync("install", ["-m", "0755", join(work, "root", "usr", "bin", PACKAGE), join(release, "node_exporter")]);
        mkdirSync(dir, { recursive: true });
        execFileSync("tar", ["-czf", `${archive}.tmp`, "-C", join(work, "release"), name]);
        renameSync(`${archive}.tmp`, archive);
      } finally {
        rmSync(work, { recursive: true, force: true });
      }
    }
    return { version, file: archive, sha256: createHash("sha256").update(readFileSync(archive)).digest("hex") };
  });
}
