/**
 * The lab's certificate authority. The lab's stand-ins for the AWS service endpoints and for package repositories
 * speak TLS as the real ones do (the AWS CLI and apt on a lab machine verify certificates exactly as on EC2); the
 * base image trusts this CA, and only this machine's cache holds its key (mode 0600).
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export interface LabCa {
  readonly certFile: string;
  readonly keyFile: string;
}

export interface ServerCertificate {
  readonly cert: string;
  readonly key: string;
}

export function createLabCa(dir: string): LabCa {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  const keyFile = join(dir, "ca.key");
  const certFile = join(dir, "ca.crt");
  execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "3650",
    "-subj", "/CN=pool-ops lab CA", "-keyout", keyFile, "-out", certFile,
    "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"], { stdio: "pipe" });
  chmodSync(keyFile, 0o600);
  return { certFile, keyFile };
}

/** A server certificate for `names` (DNS names; `*.` wildcards allowed), signed by the lab CA, written under `dir`. */
export function issueServerCertificate(ca: LabCa, dir: string, names: readonly string[]): ServerCertificate {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const key = join(dir, "server.key");
  const csr = join(dir, "server.csr");
  const cert = join(dir, "server.crt");
  const ext = join(dir, "server.ext");
  writeFileSync(ext, `subjectAltName=${names.map((n) => `DNS:${n}`).join(",")}\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n`);
  execFileSync("openssl", ["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-subj", `/CN=${names[0]}`, "-keyout", key, "-out", csr], { stdio: "pipe" });
  // A random serial, not -CAcreateserial: labs starting together would race on the CA's serial file.
  const serial = `0x${randomBytes(16).toString("hex")}`;
  execFileSync("openssl", ["x509", "-req", "-in", csr, "-CA", ca.certFile, "-CAkey", ca.keyFile, "-set_serial", serial, "-days", "825", "-out", cert, "-extfile", ext], { stdio: "pipe" });
  chmodSync(key, 0o600);
  return { cert, key };
}
