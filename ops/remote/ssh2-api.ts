/**
 * The few parts of ssh2 1.17 pool-ops calls directly (node-ssh wraps the rest), typed here because ssh2 ships no
 * types. Loaded on first use: ssh2 takes ~80 ms to load, which a command served by the agent never pays.
 */
import { createRequire } from "node:module";

/** ssh2's parsed key (lib/protocol/keyParser.js). */
export interface Ssh2ParsedKey {
  readonly type: string;
  readonly comment: string;
  sign(data: Buffer, hash?: string): Buffer | Error;
  getPublicSSH(): Buffer;
  isPrivateKey(): boolean;
}

export type Ssh2SignCallback = (error: Error | null, signature?: Buffer) => void;

/** ssh2's OpenSSHAgent (lib/agent.js): talks to an ssh-agent socket. */
export interface Ssh2OpenSshAgent {
  getIdentities(cb: (error: Error | null, keys?: Ssh2ParsedKey[]) => void): void;
  sign(pubKey: Ssh2ParsedKey, data: Buffer, options: { hash?: string } | undefined, cb: Ssh2SignCallback): void;
}

interface Ssh2Module {
  readonly utils: { parseKey(data: string | Buffer, passphrase?: string): Ssh2ParsedKey | Ssh2ParsedKey[] | Error };
  readonly OpenSSHAgent: new (socketPath: string) => Ssh2OpenSshAgent;
}

let loaded: Ssh2Module | undefined;

export function ssh2(): Ssh2Module {
  loaded ??= createRequire(import.meta.url)("ssh2") as Ssh2Module;
  return loaded;
}
