/**
 * The lab's way to Debian's archive: instances with an internet route (relays, the bastion, the monitoring host, the
 * sandbox) fetch packages from `cdn-aws.deb.debian.org` as on EC2; the lab's resolver points that name at its VPC
 * services, which forward here, and this proxy fetches from deb.debian.org (which this machine reaches) and caches on
 * disk for every later lab. Debian's own signatures travel unchanged, so apt on a lab machine verifies them as it
 * would on EC2. Producers have no route to it.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { dirname, join } from "node:path";

/** Debian's mirrors answer for these names; all of them are served from deb.debian.org. */
const DEBIAN_HOSTS = new Set(["cdn-aws.deb.debian.org", "deb.debian.org", "security.debian.org", "ftp.debian.org"]);
const UPSTREAM = "http://deb.debian.org";
/** Index files change as the archive does; packages and by-hash files never change under one name. */
const INDEX_TTL_MS = 6 * 3600_000;

export interface PackageProxyOptions {
  readonly socketPath: string;
  readonly cacheDir: string;
  readonly log: (line: string) => void;
}

function immutable(path: string): boolean {
  return /\.(deb|udeb|dsc|tar\.\w+)$/.test(path) || path.includes("/by-hash/");
}

export async function startPackageProxy(options: PackageProxyOptions): Promise<Server> {
  mkdirSync(options.cacheDir, { recursive: true });
  const server = createServer(async (req, res) => {
    const host = String(req.headers.host ?? "").split(":")[0] ?? "";
    const path = (req.url ?? "/").split("?")[0] ?? "/";
    if (!DEBIAN_HOSTS.has(host) || !/^\/(debian|debian-security)\//.test(path) || path.includes("..") || (req.method !== "GET" && req.method !== "HEAD")) {
      res.writeHead(404, { "content-type": "text/plain" }).end(`lab package proxy: only Debian's archive is reachable from the lab (asked for http://${host}${path})\n`);
      return;
    }
    const file = join(options.cacheDir, createHash("sha256").update(path).digest("hex").slice(0, 2), path.replace(/^\//, ""));
    try {
      const fresh = existsSync(file) && (immutable(path) || Date.now() - statSync(file).mtimeMs < INDEX_TTL_MS);
      if (!fresh) {
        const answer = await fetch(`${UPSTREAM}${path}`, { signal: AbortSignal.timeout(300_000) });
        if (answer.status === 404) {
          res.writeHead(404).end();
          return;
        }
        if (!answer.ok) throw new Error(`deb.debian.org answered ${answer.status} for ${path}`);
        const body = Buffer.from(await answer.arrayBuffer());
        mkdirSync(dirname(file), { recursive: true });
        const tmp = `${file}.${process.pid}.tmp`;
        writeFileSync(tmp, body);
        renameSync(tmp, file);
      }
      const body = readFileSync(file);
      res.writeHead(200, { "content-length": body.length, "content-type": "application/octet-stream" });
      res.end(req.method === "HEAD" ? undefined : body);
    } catch (error) {
      options.log(`package proxy: ${(error as Error).message}`);
      rmSync(`${file}.${process.pid}.tmp`, { force: true });
      if (!res.headersSent) res.writeHead(502, { "content-type": "text/plain" });
      res.end(`lab package proxy: ${(error as Error).message}\n`);
    }
  });
  rmSync(options.socketPath, { force: true });
  await new Promise<void>((resolve) => server.listen(options.socketPath, resolve));
  return server;
}
