/**
 * What an OpenSSH agent (`SSH_AUTH_SOCK`) holds, asked directly: ssh2 1.17 drops every key type its parser does not
 * know (agent.js, SSH_AGENT_IDENTITIES_ANSWER: "unsupported type" keys are skipped), so an agent holding only a FIDO
 * key would look empty and the login would fail with ssh2's bare "All configured authentication methods failed".
 * Listing the identities ourselves lets pool-ops say which keys the agent has and why none of them can be used.
 *
 * Wire format (draft-miller-ssh-agent, "Requesting a list of keys"): request `uint32 length, byte 11`
 * (SSH_AGENTC_REQUEST_IDENTITIES); answer `byte 12` (SSH_AGENT_IDENTITIES_ANSWER), `uint32 nkeys`, then per key
 * `string key blob, string comment`; `byte 5` (SSH_AGENT_FAILURE) on refusal.
 */
import { createConnection } from "node:net";
import { fingerprintOf, keyTypeOf } from "./host-keys";

export interface AgentKey {
  readonly keyType: string;
  readonly blob: Buffer;
  readonly comment: string;
  readonly fingerprint: string;
}

const SSH_AGENTC_REQUEST_IDENTITIES = 11;
const SSH_AGENT_IDENTITIES_ANSWER = 12;
const SSH_AGENT_FAILURE = 5;
/** An agent answers a list request at once; one that does not within this long is not usable. */
const AGENT_ANSWER_MS = 5_000;
/** No honest identities answer is larger (OpenSSH's agent caps a message at 256 KiB, `AGENT_MAX_LEN`). */
const MAX_ANSWER_BYTES = 256 * 1024;

/**
 * Key types ssh2 1.17 can authenticate with through an agent (keyParser.js parseDER: ssh-rsa, ssh-ed25519,
 * ecdsa-sha2-nistp256/384/521; ssh-dss too, which OpenSSH has removed and pool-ops does not offer). FIDO keys
 * (`sk-ssh-ed25519@openssh.com`, `sk-ecdsa-sha2-nistp256@openssh.com`) are not among them: ssh2 neither parses their
 * public keys nor carries the flags and counter their signatures end with.
 */
export const AGENT_KEY_TYPES_USABLE = ["ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521", "ssh-rsa"] as const;

export function usableAgentKey(key: AgentKey): boolean {
  return (AGENT_KEY_TYPES_USABLE as readonly string[]).includes(key.keyType);
}

export class SshAgentError extends Error {
  override name = "SshAgentError";
}

function readString(buffer: Buffer, offset: number): { value: Buffer; next: number } {
  if (offset + 4 > buffer.length) throw new SshAgentError("the agent's answer is truncated");
  const length = buffer.readUInt32BE(offset);
  const end = offset + 4 + length;
  if (end > buffer.length) throw new SshAgentError("the agent's answer is truncated");
  return { value: buffer.subarray(offset + 4, end), next: end };
}

/** Parses an SSH_AGENT_IDENTITIES_ANSWER body (after the type byte). */
export function parseIdentitiesAnswer(body: Buffer): AgentKey[] {
  if (body.length < 4) throw new SshAgentError("the agent's answer is truncated");
  const count = body.readUInt32BE(0);
  let offset = 4;
  const keys: AgentKey[] = [];
  for (let i = 0; i < count; i++) {
    const blob = readString(body, offset);
    const comment = readString(body, blob.next);
    offset = comment.next;
    keys.push({ keyType: keyTypeOf(blob.value), blob: Buffer.from(blob.value), comment: comment.value.toString("utf8"), fingerprint: fingerprintOf(blob.value) });
  }
  return keys;
}

/** The identities the agent at `socketPath` holds (every type, usable or not). */
export function listAgentKeys(socketPath: string): Promise<AgentKey[]> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(socketPath);
    const chunks: Buffer[] = [];
    let received = 0;
    const fail = (message: string) => {
      socket.destroy();
      reject(new SshAgentError(message));
    };
    const timer = setTimeout(() => fail(`no answer from the ssh-agent at ${socketPath} within ${AGENT_ANSWER_MS / 1000} s`), AGENT_ANSWER_MS);
    socket.once("error", (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      fail(`cannot reach the ssh-agent at ${socketPath} (SSH_AUTH_SOCK): ${error.code ?? error.message}`);
    });
    socket.once("connect", () => socket.write(Buffer.from([0, 0, 0, 1, SSH_AGENTC_REQUEST_IDENTITIES])));
    socket.on("data", (chunk: Buffer) => {
      chunks.push(chunk);
      received += chunk.length;
      const all = Buffer.concat(chunks);
      if (all.length < 4) return;
      const length = all.readUInt32BE(0);
      if (length > MAX_ANSWER_BYTES || received > MAX_ANSWER_BYTES + 4) {
        clearTimeout(timer);
        return fail(`the ssh-agent at ${socketPath} sent an oversized answer`);
      }
      if (all.length < 4 + length) return;
      clearTimeout(timer);
      socket.destroy();
      const type = all[4];
      if (type === SSH_AGENT_FAILURE) return reject(new SshAgentError(`the ssh-agent at ${socketPath} refused to list its keys`));
      if (type !== SSH_AGENT_IDENTITIES_ANSWER) return reject(new SshAgentError(`the ssh-agent at ${socketPath} answered with message type ${type}, not a key list`));
      try {
        resolve(parseIdentitiesAnswer(all.subarray(5, 4 + length)));
      } catch (error) {
        reject(error);
      }
    });
  });
}
