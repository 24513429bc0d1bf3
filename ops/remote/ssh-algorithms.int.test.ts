/**
 * Algorithms pool-ops negotiates, against an in-process SSH server (ssh2's Server on loopback) that offers exactly one
 * choice: `ssh-rsa` (SHA-1) host key signatures and `hmac-sha1` are refused — before, ssh2's defaults accepted both —
 * while the same RSA host key with rsa-sha2-256, and an ed25519 key, are fine.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { Connection } from "./connection";
import { HostKeyPolicy } from "./host-keys";
import { keyTextAuth } from "./operator-identity";
import { hostKeyAlgorithmsFor, sshAlgorithms } from "./ssh-algorithms";

interface TestServer {
  listen(port: number, host: string, cb: () => void): void;
  address(): AddressInfo;
  close(): void;
}
type ServerClient = { on(event: string, cb: (ctx: { accept(): void; method: string }) => void): ServerClient };
const { Server } = createRequire(import.meta.url)("ssh2") as { Server: new (config: object, onClient: (client: ServerClient) => void) => TestServer };

const dir = mkdtempSync(join(tmpdir(), "ssh-algorithms-"));
function keygen(name: string, type: string): { private: string; publicLine: string } {
  const path = join(dir, name);
  execFileSync("ssh-keygen", ["-q", "-t", type, ...(type === "rsa" ? ["-b", "2048", "-m", "PEM"] : []), "-N", "", "-f", path]);
  return { private: readFileSync(path, "utf8"), publicLine: readFileSync(`${path}.pub`, "utf8").trim() };
}
const rsaHost = keygen("host_rsa", "rsa");
const edHost = keygen("host_ed25519", "ed25519");
const client = keygen("client", "ed25519");

const servers: TestServer[] = [];
async function serve(hostKey: string, algorithms: object): Promise<number> {
  const server = new Server({ hostKeys: [hostKey], algorithms }, (c) => {
    c.on("authentication", (ctx) => (ctx.method === "publickey" ? ctx.accept() : ctx.accept()));
    c.on("error", () => undefined);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  return server.address().port;
}

function connectionTo(port: number, hostPublicLine: string): Connection {
  const knownHosts = join(dir, `known_hosts_${port}`);
  const [type, blob] = hostPublicLine.split(" ");
  writeFileSync(knownHosts, `[127.0.0.1]:${port} ${type} ${blob} test-host\n`);
  return new Connection(
    { name: "test-host", role: "relay", address: "127.0.0.1", port },
    {
      user: "admin",
      auth: keyTextAuth(client.private, "client key"),
      hostKeys: new HostKeyPolicy({ knownHostsFile: knownHosts }),
      connectTimeoutMs: 5_000,
      keepaliveIntervalMs: 5_000,
      keepaliveCountMax: 3,
      commandTimeoutSeconds: 10,
      sudo: false,
    },
  );
}

describe("SSH algorithms", () => {
  afterAll(() => {
    for (const s of servers) s.close();
  });

  it("offers no ssh-rsa (SHA-1) host key signature and no SHA-1 MAC", () => {
    expect(hostKeyAlgorithmsFor("ssh-rsa")).toEqual(["rsa-sha2-512", "rsa-sha2-256"]);
    const algorithms = sshAlgorithms();
    expect(algorithms.serverHostKey).toEqual({ remove: ["ssh-rsa", "ssh-dss"] });
    expect(algorithms.hmac.remove.some((r) => r instanceof RegExp && r.test("hmac-sha1-etm@openssh.com"))).toBe(true);
  });

  it("ssh-rsa (SHA-1) host key signatures accepted: a server offering only ssh-rsa is refused (before: connected)", async () => {
    const port = await serve(rsaHost.private, { serverHostKey: ["ssh-rsa"] });
    const c = connectionTo(port, rsaHost.publicLine);
    await expect(c.open()).rejects.toMatchObject({ status: "unreachable", message: expect.stringMatching(/no SSH algorithm in common/) });
    await c.close();
  });

  it("hmac-sha1 accepted: a server offering only hmac-sha1 (with a non-AEAD cipher) is refused (before: connected)", async () => {
    const port = await serve(edHost.private, { hmac: ["hmac-sha1"], cipher: ["aes128-ctr"] });
    const c = connectionTo(port, edHost.publicLine);
    await expect(c.open()).rejects.toMatchObject({ status: "unreachable", message: expect.stringMatching(/no SSH algorithm in common/) });
    await c.close();
  });

  it("the same RSA host key with rsa-sha2-256, and an ed25519 host key with hmac-sha2-256, connect", async () => {
    const rsa = connectionTo(await serve(rsaHost.private, { serverHostKey: ["rsa-sha2-256"] }), rsaHost.publicLine);
    await rsa.open();
    expect(rsa.hostKeyVerdict?.kind).toBe("trusted");
    await rsa.close();
    const ed = connectionTo(await serve(edHost.private, { hmac: ["hmac-sha2-256"], cipher: ["aes128-ctr"] }), edHost.publicLine);
    await ed.open();
    await ed.close();
  });
});
