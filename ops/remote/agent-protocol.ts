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
import { z } from "zod";
import type { HostStatus } from "./result";

/** Host names as the inventory spells them. */
const hostName = z.string().regex(/^[a-z][a-z0-9-]{0,62}$/);
const hostTarget = z.strictObject({
  name: hostName,
  role: z.string().regex(/^[a-z]{1,20}$/),
  address: z.ipv4(),
  port: z.number().int().min(1).max(65535),
  instanceId: z.string().regex(/^i-[0-9a-f]{8,17}$/).optional(),
  pool: z.string().regex(/^[a-z][a-z0-9-]{1,22}[a-z0-9]$/).optional(),
});

/**
 * Where a request runs: the host and, for nodes, the gateway it is reached through. The client says which hosts; it
 * cannot say which keys to trust (no pins cross the socket): the agent verifies every host against its own
 * known_hosts, name, instance id and address included, exactly as a direct command does.
 */
const AgentRouteSchema = z.strictObject({
  host: hostTarget,
  gateway: hostTarget.optional(),
  connectTimeoutMs: z.number().int().min(1_000).max(120_000),
  keepaliveIntervalMs: z.number().int().min(1_000).max(60_000),
  keepaliveCountMax: z.number().int().min(1).max(10),
});

/**
 * Bounds that no honest client exceeds: a request larger than this is refused, not buffered. A put's content
 * travels as base64 in one line; 400 Mi characters (~300 MB of content) leave room for a node release archive
 * (image bake) and stay under V8's longest string (~512 Mi characters).
 */
export const MAX_COMMAND_CHARS = 1 << 20;
export const MAX_STDIN_BASE64_CHARS = 400 << 20;
export const MAX_REQUEST_LINE_CHARS = MAX_STDIN_BASE64_CHARS + MAX_COMMAND_CHARS + 64 * 1024;

const id = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
/** What a command asks of the agent. */
export const AgentRequestSchema = z.discriminatedUnion("op", [
  z.strictObject({ id, op: z.literal("open"), route: AgentRouteSchema }),
  z.strictObject({
    id,
    op: z.literal("exec"),
    route: AgentRouteSchema,
    /** The command line exactly as it goes on the wire (already wrapped in sudo/timeout by the client). */
    command: z.string().min(1).max(MAX_COMMAND_CHARS),
    stdin: z.string().max(MAX_STDIN_BASE64_CHARS).regex(/^[A-Za-z0-9+/]*={0,2}$/).optional(),
    step: z.string().min(1).max(500),
    label: z.string().min(1).max(2_000),
    /** The client's own bound for this exec; the agent enforces the same one. */
    guardMs: z.number().int().min(1_000).max(4 * 3600 * 1000),
  }),
  z.strictObject({ id, op: z.literal("status") }),
  z.strictObject({ id, op: z.literal("stop") }),
]);

export type AgentRequest = z.output<typeof AgentRequestSchema>;
export type AgentRoute = z.output<typeof AgentRouteSchema>;

/** A request checked, or why it is refused (with its id when one could be read, so the client gets an answer). */
export function parseAgentRequest(value: unknown): { ok: true; request: AgentRequest } | { ok: false; id: number; problem: string } {
  const result = AgentRequestSchema.safeParse(value);
  if (result.success) return { ok: true, request: result.data };
  const rawId = typeof value === "object" && value !== null ? (value as { id?: unknown }).id : undefined;
  const issue = result.error.issues[0];
  const problem = issue ? `${issue.path.join(".") || "request"}: ${issue.message}` : "not a request";
  return { ok: false, id: typeof rawId === "number" && Number.isSafeInteger(rawId) ? rawId : -1, problem };
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
  /** How the agent logs in (a key's fingerprint or the ssh-agent's socket), never key material. */
  readonly auth: string;
  readonly connections: ReadonlyArray<{ readonly host: string; readonly address: string; readonly via?: string; readonly open: boolean }>;
}

export type AgentReply =
  | { readonly id: number; readonly ok: true; readonly exitCode?: number; readonly stdout?: string; readonly stderr?: string; readonly status?: AgentStatus }
  | { readonly id: number; readonly ok: false; readonly error: AgentError };

/** Part of the socket's name: after an upgrade that changes the wire format, commands start a new agent, never
 * talk to one left running by the old version. 2: no pins in routes, instance id and pool in targets. */
export const AGENT_PROTOCOL_VERSION = 2;

/** What makes two commands able to share an agent: who logs in, as which identity, trusting which known_hosts. */
export interface AgentIdentity {
  readonly user: string;
  /** `key:SHA256:…` (the key's public fingerprint) or `ssh-agent:<socket>` (operator-identity.ts authIdentityId). */
  readonly authId: string;
  readonly knownHostsFile: string;
}

/** The agents' directory: private to the user (checked by the agent before it listens). */
export function agentDir(stateDirectory: string): string {
  return join(stateDirectory, "agent");
}

/**
 * The socket of the agent for this identity. A different user, key (by its public fingerprint) or ssh-agent, or
 * known_hosts file (or wire format) means a different agent, so a command never borrows connections made under
 * other trust.
 */
export function agentSocketPath(stateDirectory: string, identity: AgentIdentity): string {
  const digest = createHash("sha256")
    .update(JSON.stringify([AGENT_PROTOCOL_VERSION, process.getuid?.() ?? 0, identity.user, identity.authId, resolve(identity.knownHostsFile)]))
    .digest("hex")
    .slice(0, 16);
  return join(agentDir(stateDirectory), `${digest}.sock`);
}

/** Unix socket paths are limited to 107 bytes on Linux (sun_path). */
export const MAX_SOCKET_PATH = 107;

/**
 * Splits a byte stream into JSON messages, one per line; a line that is not JSON, or longer than `maxLineChars`,
 * goes to `onMalformed` (the peer is not speaking this protocol: drop it).
 */
export function jsonLineReader<T>(onMessage: (message: T) => void, onMalformed: () => void, maxLineChars = MAX_REQUEST_LINE_CHARS): (chunk: Buffer) => void {
  return lineReader(
    (line) => {
      let message: T;
      try {
        message = JSON.parse(line) as T;
      } catch {
        onMalformed();
        return;
      }
      onMessage(message);
    },
    { maxLineChars, onOverflow: onMalformed },
  );
}

/**
 * Splits a byte stream into lines. A partial line waits for the rest; a character split across chunks is decoded
 * whole (StringDecoder); only new text is searched for the newline, so a large put's line costs linear time. A line
 * growing past `maxLineChars` is not buffered further: `onOverflow` is called and the reader stops.
 */
export function lineReader(onLine: (line: string) => void, limits: { maxLineChars?: number; onOverflow?: () => void } = {}): (chunk: Buffer) => void {
  const decoder = new StringDecoder("utf8");
  const max = limits.maxLineChars ?? Number.POSITIVE_INFINITY;
  let pending: string[] = [];
  let pendingChars = 0;
  let stopped = false;
  return (chunk) => {
    if (stopped) return;
    let text = decoder.write(chunk);
    let newline = text.indexOf("\n");
    while (newline >= 0) {
      const line = pending.join("") + text.slice(0, newline);
      pending = [];
      pendingChars = 0;
      text = text.slice(newline + 1);
      if (line.length > max) {
        stopped = true;
        limits.onOverflow?.();
        return;
      }
      if (line.trim()) onLine(line);
      newline = text.indexOf("\n");
    }
    if (text) {
      pending.push(text);
      pendingChars += text.length;
      if (pendingChars > max) {
        stopped = true;
        pending = [];
        limits.onOverflow?.();
      }
    }
  };
}
