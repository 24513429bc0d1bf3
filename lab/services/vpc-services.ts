/**
 * What the VPC gives every instance besides its network, run inside the lab's VPC router namespace:
 * - the instance metadata service on 169.254.169.254 (IMDSv2 only, as the stacks require: a session token first,
 *   then every read carries it; answers by the caller's address, as EC2 answers by its ENI);
 * - the Amazon DNS resolver on 169.254.169.253: the AWS service names resolve to the interface endpoints' addresses
 *   (private DNS on), other AWS names and the package repositories to the lab's "internet" address, anything else
 *   NXDOMAIN;
 * - the AWS service endpoints over HTTPS (a certificate from the lab CA), forwarded to the lab's AWS emulator;
 * - Debian's package repositories over HTTP, forwarded to the lab's caching proxy of deb.debian.org;
 * - the Amazon Time Sync Service on 169.254.169.123 (NTP: this machine's clock, which the lab machines share).
 * Only instances with a route to an address reach it: producers, with no default route, reach the endpoints in their
 * subnets and nothing on the "internet" address.
 *
 * Usage (the lab's supervisor starts it): ip netns exec <vpc> node --import tsx/esm vpc-services.ts <services.json>
 */
import { randomBytes } from "node:crypto";
import { createSocket } from "node:dgram";
import { existsSync, readFileSync, statSync } from "node:fs";
import { join, normalize } from "node:path";
import { createServer as createHttpServer, request, type IncomingMessage, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { answerDnsQuery } from "./dns";
import { ntpReply } from "./ntp";
import { imdsAnswer, type ImdsInstance } from "./imds";

export interface VpcServicesConfig {
  readonly region: string;
  readonly accountId: string;
  /** Host names → addresses the resolver answers (A records). */
  readonly dns: Readonly<Record<string, readonly string[]>>;
  /** Suffixes answered with the internet address when no exact name matches (e.g. ".amazonaws.com"). */
  readonly dnsSuffixes: Readonly<Record<string, readonly string[]>>;
  readonly tls: { readonly cert: string; readonly key: string };
  /** The emulator's Unix socket. */
  readonly awsSocket: string;
  /** The package proxy's Unix socket (in the supervisor, outside the VPC). */
  readonly packagesSocket: string;
  /** The hypervisor's records: instances by private address. */
  readonly machinesFile: string;
  readonly metadataAddress: string;
  readonly dnsAddress: string;
  /** The Amazon Time Sync Service's address. */
  readonly timeAddress: string;
  /** Sites on the internet the lab stands in for, served from a directory over HTTPS (e.g. apt.grafana.com). */
  readonly staticSites: Readonly<Record<string, string>>;
}

const config = JSON.parse(readFileSync(process.argv[2] as string, "utf8")) as VpcServicesConfig;

function instanceAt(address: string): ImdsInstance | undefined {
  if (!existsSync(config.machinesFile)) return undefined;
  const records = JSON.parse(readFileSync(config.machinesFile, "utf8")) as { instances: Record<string, ImdsInstance & { state: string }> };
  return Object.values(records.instances).find((i) => i.privateIp === address && i.state !== "terminated");
}

/** Forwards a request, unchanged, to an HTTP server on a Unix socket. */
function forward(req: IncomingMessage, res: ServerResponse, socketPath: string): void {
  const upstream = request({ socketPath, method: req.method, path: req.url, headers: req.headers }, (answer) => {
    res.writeHead(answer.statusCode ?? 502, answer.headers);
    answer.pipe(res);
  });
  upstream.on("error", (error) => {
    if (!res.headersSent) res.writeHead(502, { "content-type": "text/plain" });
    res.end(`lab VPC services: upstream unavailable (${error.message})\n`);
  });
  req.pipe(upstream);
}

const tokens = new Map<string, { address: string; expires: number }>();

function metadata(req: IncomingMessage, res: ServerResponse): void {
  const address = (req.socket.remoteAddress ?? "").replace(/^::ffff:/, "");
  const instance = instanceAt(address);
  if (!instance) {
    res.writeHead(404).end();
    return;
  }
  if (req.method === "PUT" && req.url === "/latest/api/token") {
    const ttl = Number(req.headers["x-aws-ec2-metadata-token-ttl-seconds"]);
    if (!Number.isInteger(ttl) || ttl < 1 || ttl > 21_600) {
      res.writeHead(400).end();
      return;
    }
    const token = randomBytes(24).toString("base64url");
    tokens.set(token, { address, expires: Date.now() + ttl * 1000 });
    res.writeHead(200, { "content-type": "text/plain", "x-aws-ec2-metadata-token-ttl-seconds": String(ttl) }).end(token);
    return;
  }
  // IMDSv2 required (http_tokens = "required"): a read without a valid session token is refused.
  const token = tokens.get(String(req.headers["x-aws-ec2-metadata-token"] ?? ""));
  if (!token || token.address !== address || token.expires < Date.now()) {
    res.writeHead(401).end();
    return;
  }
  const answer = imdsAnswer(instance, { region: config.region, accountId: config.accountId }, req.url ?? "/");
  if (answer === undefined) {
    res.writeHead(404).end();
    return;
  }
  res.writeHead(200, { "content-type": answer.startsWith("{") ? "application/json" : "text/plain" }).end(answer);
}

// Port 80: the metadata service on its link-local address, package repositories on the internet address.
createHttpServer((req, res) => {
  if (req.socket.localAddress?.replace(/^::ffff:/, "") === config.metadataAddress) metadata(req, res);
  else forward(req, res, config.packagesSocket);
}).listen(80, "0.0.0.0");

/** A file of a stand-in site, or 404: GET and HEAD only, no path outside the site's directory. */
function staticFile(root: string, req: IncomingMessage, res: ServerResponse): void {
  const path = normalize(decodeURIComponent((req.url ?? "/").split("?")[0] ?? "/"));
  const file = join(root, path);
  if (!file.startsWith(root) || (req.method !== "GET" && req.method !== "HEAD") || !existsSync(file) || !statSync(file).isFile()) {
    res.writeHead(404).end();
    return;
  }
  const body = readFileSync(file);
  res.writeHead(200, { "content-length": body.length, "content-type": "application/octet-stream" }).end(req.method === "HEAD" ? undefined : body);
}

// Port 443: the AWS APIs (interface endpoints and the public endpoints alike end at the emulator), and the sites the
// lab stands in for.
createHttpsServer({ cert: readFileSync(config.tls.cert), key: readFileSync(config.tls.key) }, (req, res) => {
  const host = String(req.headers.host ?? "").split(":")[0] ?? "";
  const site = config.staticSites[host];
  if (host.endsWith(".amazonaws.com")) forward(req, res, config.awsSocket);
  else if (site) staticFile(site, req, res);
  else res.writeHead(421, { "content-type": "text/plain" }).end(`lab VPC services: nothing serves ${host} here\n`);
}).listen(443, "0.0.0.0");

const dns = createSocket("udp4");
dns.on("message", (message, peer) => {
  const reply = answerDnsQuery(message, (name) => config.dns[name] ?? Object.entries(config.dnsSuffixes).find(([suffix]) => name.endsWith(suffix))?.[1]);
  if (reply) dns.send(reply, peer.port, peer.address);
});
dns.bind(53, config.dnsAddress);

const ntp = createSocket("udp4");
ntp.on("message", (message, peer) => {
  const reply = ntpReply(message, Date.now());
  if (reply) ntp.send(reply, peer.port, peer.address);
});
ntp.bind(123, config.timeAddress);

process.on("SIGTERM", () => process.exit(0));
console.log(`vpc services: metadata ${config.metadataAddress}, resolver ${config.dnsAddress}, endpoints on 443, packages on 80`);
