/**
 * How the operator logs in, as operators keep their keys:
 *
 * 1. `--identity FILE` / `POOL_OPS_IDENTITY`: that key file. A passphrase-protected key (OpenSSH `bcrypt` or
 *    encrypted PEM) is opened once per command with the passphrase from `POOL_OPS_IDENTITY_PASSPHRASE_FILE` (a file
 *    only its owner can read: automation) or asked for on the terminal, never echoed and never logged.
 * 2. Otherwise an ssh-agent (`SSH_AUTH_SOCK`): pool-ops never sees the private key; the agent signs. Keys the agent
 *    holds that ssh2 1.17 cannot use (FIDO `sk-*` keys) are named in the error when nothing else is left.
 * 3. Otherwise the first of ~/.ssh/id_ed25519, id_ecdsa, id_rsa, as OpenSSH does.
 *
 * RSA keys sign with SHA-2 only (rsa-sha2-256/512): a server that would make ssh2 fall back to `ssh-rsa` (SHA-1) is
 * refused at login (ssh-algorithms.ts).
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { OpsError } from "./result";
import { rsaUserSignatureAllowed } from "./ssh-algorithms";
import { listAgentKeys, SshAgentError, usableAgentKey, type AgentKey } from "./ssh-agent-keys";
import { ssh2, type Ssh2OpenSshAgent, type Ssh2ParsedKey, type Ssh2SignCallback } from "./ssh2-api";
import { fingerprintOf } from "./host-keys";

/** A key file opened in memory (decrypted when it had a passphrase). */
export interface KeyFileAuth {
  readonly kind: "key";
  /** Where the key came from, for messages. */
  readonly source: string;
  /** The file's text as read (still encrypted when it was), and the passphrase that opens it: what an agent needs. */
  readonly keyText: string;
  readonly passphrase?: string | undefined;
  readonly key: Ssh2ParsedKey;
  readonly fingerprint: string;
}

/** An ssh-agent that holds at least one key pool-ops can use. */
export interface SshAgentAuth {
  readonly kind: "agent";
  readonly socket: string;
  /** Every key the agent holds (usable or not), for messages. */
  readonly keys: readonly AgentKey[];
}

/**
 * The command's steps go through the pool-ops agent, which logs in itself: this process never opens the key (so a
 * passphrase is not asked again while an agent runs).
 */
export interface RelayedAuth {
  readonly kind: "relayed";
  /** The agent's socket, for messages. */
  readonly via: string;
}

export type OperatorAuth = KeyFileAuth | SshAgentAuth | RelayedAuth;

/** Which login a command uses, chosen without opening a key file (no passphrase asked yet). */
export type LoginSource = { readonly kind: "key-file"; readonly path: string } | KeyFileAuth | SshAgentAuth;

export interface OperatorAuthOptions {
  /** `--identity` or POOL_OPS_IDENTITY; empty means not given. */
  readonly identityFile?: string | undefined;
  /** SSH_AUTH_SOCK. @default process.env.SSH_AUTH_SOCK */
  readonly sshAuthSock?: string | undefined;
  /** POOL_OPS_IDENTITY_PASSPHRASE_FILE. @default process.env.POOL_OPS_IDENTITY_PASSPHRASE_FILE */
  readonly passphraseFile?: string | undefined;
  /** Asks for a passphrase on the terminal; undefined when there is none. @default a hidden prompt on a TTY stdin */
  readonly askPassphrase?: ((question: string) => Promise<string>) | undefined;
  /** @default os.homedir() */
  readonly home?: string;
}

const DEFAULT_KEY_FILES = ["id_ed25519", "id_ecdsa", "id_rsa"];
const IDENTITY_STEP = "read identity";

function identityError(message: string, remedy: string): OpsError {
  return new OpsError("-", IDENTITY_STEP, message, remedy, "unreachable");
}

/**
 * What names one login identity (the agent's socket is derived from it): the key's public half, or the agent's
 * socket. A key file's public half is read from its OpenSSH header without the passphrase; only an encrypted PEM key
 * (which has no public part in the clear) is opened for it.
 */
export async function loginIdentityId(source: LoginSource, open: () => Promise<OperatorAuth>): Promise<string> {
  if (source.kind === "agent") return `ssh-agent:${resolve(source.socket)}`;
  if (source.kind === "key") return `key:${source.fingerprint}`;
  const clear = publicFingerprintOfKeyFile(source.path);
  if (clear) return `key:${clear}`;
  const opened = await open();
  if (opened.kind !== "key") throw new Error("a key file opened as something else");
  return `key:${opened.fingerprint}`;
}

/** The public key blob an OpenSSH private key file carries unencrypted in its header (PROTOCOL.key), if it is one. */
export function openSshPublicBlob(text: string): Buffer | undefined {
  const body = /-----BEGIN OPENSSH PRIVATE KEY-----([\s\S]*?)-----END OPENSSH PRIVATE KEY-----/.exec(text)?.[1];
  if (!body) return undefined;
  const blob = Buffer.from(body.replace(/\s+/g, ""), "base64");
  const magic = Buffer.from("openssh-key-v1\0");
  if (!blob.subarray(0, magic.length).equals(magic)) return undefined;
  let offset = magic.length;
  const next = (): Buffer | undefined => {
    if (offset + 4 > blob.length) return undefined;
    const length = blob.readUInt32BE(offset);
    const value = blob.subarray(offset + 4, offset + 4 + length);
    offset += 4 + length;
    return offset <= blob.length ? value : undefined;
  };
  next(); // cipher name
  next(); // kdf name
  next(); // kdf options
  if (offset + 4 > blob.length) return undefined;
  offset += 4; // number of keys
  return next();
}

/** A key file's fingerprint from its public part, without its passphrase; undefined when that needs the passphrase. */
export function publicFingerprintOfKeyFile(path: string): string | undefined {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
  const blob = openSshPublicBlob(text);
  if (blob) return fingerprintOf(blob);
  const parsed = ssh2().utils.parseKey(text);
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  return key && !(key instanceof Error) ? fingerprintOf(key.getPublicSSH()) : undefined;
}

export function describeAuth(auth: OperatorAuth): string {
  if (auth.kind === "relayed") return `through the pool-ops agent ${auth.via}`;
  if (auth.kind === "key") return `key ${auth.source} (${auth.key.type} ${auth.fingerprint})`;
  const usable = auth.keys.filter(usableAgentKey);
  return `ssh-agent ${auth.socket} (${usable.length} usable key${usable.length === 1 ? "" : "s"})`;
}

/** Reads the passphrase file: only its owner may read it (as ssh demands of a private key), first line, no newline. */
export function readPassphraseFile(path: string): string {
  let mode: number;
  try {
    mode = statSync(path).mode;
  } catch (error) {
    throw identityError(`POOL_OPS_IDENTITY_PASSPHRASE_FILE ${path}: ${(error as NodeJS.ErrnoException).code === "ENOENT" ? "file not found" : (error as Error).message}`, "point it at the file holding the key's passphrase");
  }
  if ((mode & 0o077) !== 0) {
    throw identityError(`POOL_OPS_IDENTITY_PASSPHRASE_FILE ${path} is readable by others (mode ${(mode & 0o777).toString(8)})`, `chmod 600 ${path}`);
  }
  return readFileSync(path, "utf8").split(/\r?\n/)[0] ?? "";
}

/** A hidden prompt on the terminal (no echo), or undefined when stdin is not a terminal. */
export function terminalPassphrasePrompt(): ((question: string) => Promise<string>) | undefined {
  const input = process.stdin;
  if (!input.isTTY) return undefined;
  return (question) =>
    new Promise((resolvePassphrase, reject) => {
      process.stderr.write(question);
      const chars: string[] = [];
      input.setRawMode(true);
      input.resume();
      const done = (error?: Error) => {
        input.setRawMode(false);
        input.pause();
        input.removeListener("data", onData);
        process.stderr.write("\n");
        if (error) reject(error);
        else resolvePassphrase(chars.join(""));
      };
      const onData = (chunk: Buffer) => {
        for (const ch of chunk.toString("utf8")) {
          if (ch === "\r" || ch === "\n") return done();
          if (ch === "\u0003") return done(identityError("passphrase prompt interrupted", "run the command again"));
          if (ch === "\u007f" || ch === "\b") chars.pop();
          else chars.push(ch);
        }
      };
      input.on("data", onData);
    });
}

/** Wraps an RSA key so it never signs with SHA-1 (ssh2 asks for `sha1` when the server does not advertise SHA-2). */
function sha2OnlyKey(key: Ssh2ParsedKey): Ssh2ParsedKey {
  if (key.type !== "ssh-rsa") return key;
  const wrapped = Object.create(key) as Ssh2ParsedKey;
  Object.defineProperty(wrapped, "sign", {
    value: (data: Buffer, hash?: string) => (rsaUserSignatureAllowed(hash) ? key.sign(data, hash) : new Error("refusing to sign with ssh-rsa (SHA-1): the server offers no rsa-sha2-256/512")),
  });
  return wrapped;
}

/** Parses a key file's text, decrypting it with `passphrase` when it is encrypted. Throws OpsError naming the file. */
export function parseKeyFile(text: string, source: string, passphrase?: string): Ssh2ParsedKey {
  const parsed = ssh2().utils.parseKey(text, passphrase);
  if (parsed instanceof Error) {
    if (/no passphrase given/i.test(parsed.message)) {
      throw identityError(`${source} is protected by a passphrase and none was given`, "type it when asked (run on a terminal), set POOL_OPS_IDENTITY_PASSPHRASE_FILE to a file holding it, or load the key into ssh-agent (ssh-add) and give no --identity");
    }
    if (/bad passphrase|integrity check failed|bad decrypt/i.test(parsed.message)) {
      throw identityError(`${source}: the passphrase does not open this key`, "check the passphrase (POOL_OPS_IDENTITY_PASSPHRASE_FILE or the one typed)");
    }
    throw identityError(`${source} is not an SSH private key pool-ops can read (${parsed.message})`, "give an OpenSSH or PEM private key (ed25519, ecdsa or rsa)");
  }
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (!key || !key.isPrivateKey()) throw identityError(`${source} holds no private key`, "give the private key file, not the .pub");
  if (key.type === "ssh-dss") throw identityError(`${source} is a DSA key`, "DSA (ssh-dss) is retired by OpenSSH: use an ed25519 key");
  return sha2OnlyKey(key);
}

function needsPassphrase(text: string): boolean {
  const parsed = ssh2().utils.parseKey(text);
  return parsed instanceof Error && /no passphrase given/i.test(parsed.message);
}

/** Opens a key file: reads it, asks for its passphrase when it has one (file, then terminal), decrypts it once. */
export async function openKeyFile(path: string, options: OperatorAuthOptions = {}): Promise<KeyFileAuth> {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw identityError(`cannot read the SSH key ${path}: ${(error as NodeJS.ErrnoException).code === "ENOENT" ? "file not found" : (error as Error).message}`, "give --identity FILE (or set POOL_OPS_IDENTITY)");
  }
  let passphrase: string | undefined;
  if (needsPassphrase(text)) {
    const file = options.passphraseFile ?? process.env.POOL_OPS_IDENTITY_PASSPHRASE_FILE;
    if (file) passphrase = readPassphraseFile(file);
    else {
      const ask = "askPassphrase" in options ? options.askPassphrase : terminalPassphrasePrompt();
      if (!ask) throw identityError(`${path} is protected by a passphrase and there is no terminal to ask on`, "set POOL_OPS_IDENTITY_PASSPHRASE_FILE to a file (mode 600) holding it, or load the key into ssh-agent (ssh-add) and give no --identity");
      passphrase = await ask(`passphrase for ${path}: `);
    }
  }
  const key = parseKeyFile(text, path, passphrase);
  return { kind: "key", source: path, keyText: text, passphrase, key, fingerprint: fingerprintOf(key.getPublicSSH()) };
}

/** The agent's keys, checked: at least one pool-ops can use, or an error naming what the agent holds. */
export async function openSshAgent(socket: string): Promise<SshAgentAuth> {
  let keys: AgentKey[];
  try {
    keys = await listAgentKeys(socket);
  } catch (error) {
    if (error instanceof SshAgentError) throw identityError(error.message, "start ssh-agent and ssh-add your key, or give --identity FILE");
    throw error;
  }
  if (!keys.some(usableAgentKey)) {
    const held = keys.length === 0 ? "no keys" : keys.map((k) => `${k.keyType} ${k.fingerprint}${k.comment ? ` (${k.comment})` : ""}`).join(", ");
    const fido = keys.some((k) => k.keyType.startsWith("sk-"));
    throw identityError(
      `the ssh-agent at ${socket} (SSH_AUTH_SOCK) holds ${held}: none that pool-ops can log in with${fido ? " (FIDO sk-* keys are not supported by ssh2 1.17, the SSH library pool-ops uses)" : ""}`,
      `ssh-add an ed25519, ecdsa or rsa key (a hardware token's PIV key works through ssh-add -s <PKCS#11 library>), or give --identity FILE`,
    );
  }
  return { kind: "agent", socket, keys };
}

/** Which login the command uses, in the order described at the top of this file; no key file is opened yet. */
export async function chooseLogin(options: OperatorAuthOptions = {}): Promise<LoginSource> {
  if (options.identityFile) return { kind: "key-file", path: options.identityFile };
  const socket = "sshAuthSock" in options ? options.sshAuthSock : process.env.SSH_AUTH_SOCK;
  const home = options.home ?? homedir();
  const defaults = DEFAULT_KEY_FILES.map((f) => join(home, ".ssh", f));
  const found = defaults.find((f) => existsSync(f));
  if (socket) {
    try {
      return await openSshAgent(socket);
    } catch (error) {
      // An agent with nothing usable: the default key file, as OpenSSH would try next; else the agent's reason.
      if (found && error instanceof OpsError) return { kind: "key-file", path: found };
      throw error;
    }
  }
  if (!found) {
    throw identityError(`no SSH identity: SSH_AUTH_SOCK is not set and there is no key at ${defaults.join(", ")}`, "give --identity FILE (or set POOL_OPS_IDENTITY), or start ssh-agent and ssh-add your key");
  }
  return { kind: "key-file", path: found };
}

/** The login ready to use: a key file opened (its passphrase asked or read now), an agent as it is. */
export async function openLogin(source: LoginSource, options: OperatorAuthOptions = {}): Promise<KeyFileAuth | SshAgentAuth> {
  return source.kind === "key-file" ? openKeyFile(source.path, options) : source;
}

/** The operator's login, resolved and opened. */
export async function resolveOperatorAuth(options: OperatorAuthOptions = {}): Promise<KeyFileAuth | SshAgentAuth> {
  return openLogin(await chooseLogin(options), options);
}

/** An ssh2 agent that refuses SHA-1 signatures for RSA keys, as sha2OnlyKey does for key files. */
export function sha2OnlyAgent(socket: string): Ssh2OpenSshAgent {
  const { OpenSSHAgent } = ssh2();
  class Sha2OnlyAgent extends OpenSSHAgent {
    override sign(pubKey: Ssh2ParsedKey, data: Buffer, options: { hash?: string } | undefined, cb: Ssh2SignCallback): void {
      if (pubKey.type === "ssh-rsa" && !rsaUserSignatureAllowed(options?.hash)) {
        cb(new Error("refusing to sign with ssh-rsa (SHA-1): the server offers no rsa-sha2-256/512"));
        return;
      }
      super.sign(pubKey, data, options, cb);
    }
  }
  return new Sha2OnlyAgent(socket);
}

/** ssh2's `authHandler` for this login: exactly one method, so no "none" round trip and no other key is tried. */
export function authHandlerFor(auth: OperatorAuth, username: string): unknown[] {
  if (auth.kind === "relayed") throw new Error(`a connection made here while its steps go through the pool-ops agent (${auth.via}): this is a bug`);
  if (auth.kind === "key") return [{ type: "publickey", username, key: auth.key }];
  return [{ type: "agent", username, agent: sha2OnlyAgent(auth.socket) }];
}

/** A key's text as an OperatorAuth (an unencrypted key given in code, e.g. the lab harness's Fleet). */
export function keyTextAuth(text: string, source: string, passphrase?: string): KeyFileAuth {
  const key = parseKeyFile(text, source, passphrase);
  return { kind: "key", source, keyText: text, passphrase, key, fingerprint: fingerprintOf(key.getPublicSSH()) };
}
