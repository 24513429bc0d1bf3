/**
 * The pool-ops agent's wire format and where its socket lives. The agent is pool-ops' answer to OpenSSH's
 * ControlMaster/ControlPersist: a long-lived process that holds the bastion connection and the node connections
 * riding it, so a command run while it is up costs only its own exec round trips, not a handshake per host.
 *
 * Requests and replies are JSON lines over a Unix socket in a 0700 directory (the socket itself 0600): only the user
 * who started the agent can reach it, as with a ControlPath under ~/.ssh. Binary payloads travel as base64.
 */
import { createHash } from "node:crypto";
import { join, resolve } from "node:path";
import { StringDecoder } from "node:string_decoder";
import type { HostTarget } from "./connection";
import type { HostStatus } from "./result";

/** What a command asks of the agent. `route` names the host and, for nodes, the gateway it is reached through. */
export type AgentRequest =
  | { readonly id: number; readonly op: "open"; readonly route: AgentRoute }
  | {
      readonly id: number;
      readonly op: "exec";
      readonly route: AgentRoute;
      /** The command line exactly as it goes on the wire (already wrapped in sudo/timeout by the client). */
      readonly command: string;
      readonly stdin?: string;
      readonly step: string;
      readonly label: string;
      /** The client's own bound for this exec; the agent enforces the same one. */
      readonly guardMs: number;
    }
  | { readonly id: number; readonly op: "status" }
  | { readonly id: number; readonly op: "stop" };

export interface AgentRoute {
  readonly host: HostTarget;
  readonly gateway?: HostTarget;
  /** Fingerprints pinned by the client's inventory for these hosts (they win over known_hosts). */
  readonly pinned: Readonly<Record<string, string>>;
  readonly connectTimeoutMs: number;
  readonly keepaliveIntervalMs: number;
  readonly keepaliveCountMax: number;
}

export interface AgentError {
  readonly host: string;
  readonly step: string;
  readonly message: string;
  readonly remedy: string;
  readonly status: Exclude<HostStatus, "ok" | "changed" | "skipped">;
}

export interface AgentStatus {
  readonly pid: number;
  readonly startedAt: string;
  readonly idleExitSeconds: number;
  readonly knownHostsFile: string;
  readonly user: string;
  readonly connections: ReadonlyArray<{ readonly host: string; readonly address: string; readonly via?: string; readonly open: boolean }>;
}

export type AgentReply =
  | { readonly id: number; readonly ok: true; readonly exitCode?: number; readonly stdout?: string; readonly stderr?: string; readonly status?: AgentStatus }
  | { readonly id: number; readonly ok: false; readonly error: AgentError };

/** Part of the socket's name: after an upgrade that changes the wire format, commands start a new agent, never
 * talk to one left running by the old version. */
export const AGENT_PROTOCOL_VERSION = 1;

/** What makes two commands able to share an agent: who logs in, with which key, trusting which known_hosts. */
export interface AgentIdentity {
  readonly user: string;
  readonly privateKey: string;
  readonly knownHostsFile: string;
}

/** The agents' directory: private to the user (checked by the agent before it listens). */
export function agentDir(stateDirectory: string): string {
  return join(stateDirectory, "agent");
}

/**
 * The socket of the agent for this identity. The key's hash, not the key, names it; a different user, key or
 * known_hosts file (or wire format) means a different agent, so a command never borrows connections made under
 * other trust.
 */
export function agentSocketPath(stateDirectory: string, identity: AgentIdentity): string {
  const digest = createHash("sha256")
    .update(JSON.stringify([AGENT_PROTOCOL_VERSION, process.getuid?.() ?? 0, identity.user, createHash("sha256").update(identity.privateKey).digest("hex"), resolve(identity.knownHostsFile)]))
    .digest("hex")
    .slice(0, 16);
  return join(agentDir(stateDirectory), `${digest}.sock`);
}

/** Unix socket paths are limited to 107 bytes on Linux (sun_path). */
export const MAX_SOCKET_PATH = 107;

/**
 * Splits a byte stream into JSON messages, one per line; a line that is not JSON goes to `onMalformed` (the peer is
 * not speaking this protocol: drop it).
 */
export function jsonLineReader<T>(onMessage: (message: T) => void, onMalformed: () => void): (chunk: Buffer) => void {
  return lineReader((line) => {
    let message: T;
    try {
      message = JSON.parse(line) as T;
    } catch {
      onMalformed();
      return;
    }
    onMessage(message);
  });
}

/**
 * Splits a byte stream into lines. A partial line waits for the rest; a character split across chunks is decoded
 * whole (StringDecoder); only new text is searched for the newline, so a large put's line costs linear time.
 */
export function lineReader(onLine: (line: string) => void): (chunk: Buffer) => void {
  const decoder = new StringDecoder("utf8");
  let pending: string[] = [];
  return (chunk) => {
    let text = decoder.write(chunk);
    let newline = text.indexOf("\n");
    while (newline >= 0) {
      const line = pending.join("") + text.slice(0, newline);
      pending = [];
      text = text.slice(newline + 1);
      if (line.trim()) onLine(line);
      newline = text.indexOf("\n");
    }
    if (text) pending.push(text);
  };
}
