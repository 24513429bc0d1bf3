/**
 * What every command gets: the global options resolved (pool config, inventory, selected hosts, SSH settings), the
 * fleet of connections (opened lazily, closed at the end), output, confirmation, and the audit trail.
 *
 * A command file builds a commander `Command` and wraps its action in `opsAction`, which makes the context, turns
 * expected failures into a clear message and a non-zero exit (no stack trace), and closes every connection.
 */
import type { Command } from "commander";
import { homedir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline/promises";
import { loadPoolConfig, PoolConfigError } from "../config/load";
import type { PoolConfig } from "../config/schema";
import { AwsEndpointError, privateEndpointsByService, type AwsTarget } from "./aws/client-config";
import { AgentClient } from "./remote/agent-client";
import { agentSocketPath, type AgentIdentity } from "./remote/agent-protocol";
import { chooseLogin, loginIdentityId, openLogin, type KeyFileAuth, type LoginSource, type SshAgentAuth } from "./remote/operator-identity";
import { appendAudit, auditEntryFor, defaultAuditLogPath, type AuditEntry, type AuditSink } from "./audit";
import { Output } from "./output";
import { Fleet } from "./remote/fleet";
import { Group, DEFAULT_CONCURRENCY, type Strategy } from "./remote/group";
import { HostKeyPolicy } from "./remote/host-keys";
import { checkInventoryMatchesConfig, InventoryError, loadInventoryFile, recordHostMembership, recordReplacedInstance, type Inventory, type InventoryHost } from "./remote/inventory";
import { LeaseHeldError } from "./lease/lease-errors";
import { OpsError, type GroupResult, type Result } from "./remote/result";
import { selectHosts, splitList } from "./remote/select";

/** The global options (cli.ts declares them; every command sees them). */
export interface GlobalOptions {
  readonly config?: string;
  readonly inventory?: string;
  readonly fromAws?: boolean;
  readonly awsEndpoint?: string;
  /** `--aws-private-endpoint` URLs (VPC interface endpoints of AWS services, one per service). */
  readonly awsPrivateEndpoint?: string[];
  readonly hosts?: string[];
  readonly role?: string[];
  readonly dryRun?: boolean;
  readonly yes?: boolean;
  readonly json?: boolean;
  readonly concurrency?: number;
  readonly knownHosts?: string;
  readonly identity?: string;
  readonly user?: string;
  readonly auditLog?: string;
  readonly auditLogGroup?: string;
  /** false with `--no-agent`: connect directly even when a pool-ops agent is running. */
  readonly agent?: boolean;
}

/** Where multi-step commands keep their journals (public facts only): $POOL_OPS_STATE_DIR, else ~/.pool-ops. */
export function stateDir(): string {
  return process.env.POOL_OPS_STATE_DIR ?? join(homedir(), ".pool-ops");
}

/**
 * Exit statuses: 0 every host fine, 1 some host failed / unreachable / unknown, 2 usage, config or inventory error,
 * 3 aborted, 4 the pool's lease is held by another operator.
 */
export const EXIT_OK = 0;
export const EXIT_HOST_FAILURE = 1;
export const EXIT_USAGE = 2;
export const EXIT_ABORTED = 3;
/** Another operator holds the pool's lease: nothing was changed (try again, or `--wait SECONDS`). */
export const EXIT_LEASE_HELD = 4;

export class AbortedByOperator extends Error {
  override name = "AbortedByOperator";
}

export class OpsContext {
  readonly out: Output;
  private configCache: { config: PoolConfig; path: string } | undefined;
  private inventoryCache: Promise<Inventory> | undefined;
  private fleetCache: Fleet | undefined;
  private readonly startedAt = Date.now();

  constructor(
    readonly options: GlobalOptions,
    /** The command line after `pool-ops`, for the audit trail. */
    readonly commandLine: string,
  ) {
    this.out = new Output({ json: Boolean(options.json) });
  }

  get dryRun(): boolean {
    return Boolean(this.options.dryRun);
  }

  get config(): PoolConfig {
    this.configCache ??= loadPoolConfig(this.options.config);
    return this.configCache.config;
  }

  /**
   * Where this command's AWS calls go: the config's region, in test mode the emulator, and the VPC interface
   * endpoints named by `--aws-private-endpoint` (checked against the region here; awsClientSettings checks again).
   */
  get awsTarget(): AwsTarget {
    const region = this.config.region;
    const privateEndpoints = privateEndpointsByService(this.options.awsPrivateEndpoint ?? [], region);
    return { region, endpoint: this.options.awsEndpoint ?? this.config.emulator?.endpoint, ...(Object.keys(privateEndpoints).length > 0 ? { privateEndpoints } : {}) };
  }

  get configPath(): string {
    void this.config;
    return this.configCache!.path;
  }

  /** The inventory from `--inventory` (or POOL_OPS_INVENTORY), or from EC2 with `--from-aws`. */
  inventory(): Promise<Inventory> {
    this.inventoryCache ??= (async () => {
      const file = this.options.inventory ?? process.env.POOL_OPS_INVENTORY;
      if (this.options.fromAws) {
        if (this.options.inventory) throw new InventoryError("give either --inventory FILE or --from-aws, not both");
        // Loaded on demand: the EC2 client alone takes ~200 ms to load, paid by every command otherwise.
        const { inventoryFromAws } = await import("./remote/inventory-aws");
        return inventoryFromAws(this.config, { target: this.awsTarget });
      }
      if (!file) {
        throw new InventoryError(
          "no inventory: give --inventory FILE (`terraform output -json > FILE`), set POOL_OPS_INVENTORY, or use --from-aws",
        );
      }
      const inventory = loadInventoryFile(file);
      checkInventoryMatchesConfig(inventory, this.config, file, this.configPath);
      return inventory;
    })();
    return this.inventoryCache;
  }

  /** Hosts chosen by `--hosts` / `--role` (all when neither is given). */
  async selectedHosts(defaults: { roles?: string[] } = {}): Promise<InventoryHost[]> {
    const hosts = splitList(this.options.hosts);
    const roles = splitList(this.options.role) ?? (hosts ? undefined : defaults.roles);
    return selectHosts(await this.inventory(), { hosts, roles });
  }

  get knownHostsFile(): string {
    return this.options.knownHosts ?? process.env.POOL_OPS_KNOWN_HOSTS ?? join(homedir(), ".ssh", "known_hosts");
  }

  async hostKeyPolicy(options: { trustOnFirstUse?: boolean } = {}): Promise<HostKeyPolicy> {
    const inventory = await this.inventory();
    return new HostKeyPolicy({ knownHostsFile: this.knownHostsFile, pinned: inventory.hostKeys, trustOnFirstUse: options.trustOnFirstUse ?? false });
  }

  /** The key file named by `--identity` or $POOL_OPS_IDENTITY, or undefined (then ssh-agent, then ~/.ssh/id_*). */
  get identityFile(): string | undefined {
    return this.options.identity || process.env.POOL_OPS_IDENTITY || undefined;
  }

  /** Which login this command uses (operator-identity.ts: `--identity`, else $SSH_AUTH_SOCK, else ~/.ssh/id_*). */
  loginSource(): Promise<LoginSource> {
    this.sourceCache ??= this.agentAuth ? Promise.resolve(this.agentAuth) : chooseLogin({ identityFile: this.identityFile });
    return this.sourceCache;
  }
  private sourceCache: Promise<LoginSource> | undefined;

  /**
   * The login opened: a key file's passphrase is asked once per command (or read from
   * $POOL_OPS_IDENTITY_PASSPHRASE_FILE). Only commands that connect themselves open it: through a running agent the
   * key is never opened here.
   */
  operatorAuth(): Promise<KeyFileAuth | SshAgentAuth> {
    this.authCache ??= this.loginSource().then((source) => openLogin(source));
    return this.authCache;
  }
  private authCache: Promise<KeyFileAuth | SshAgentAuth> | undefined;
  /** Set by `agent serve` when `agent start` handed it the login over a pipe. */
  agentAuth: KeyFileAuth | SshAgentAuth | undefined;

  /** Who this command logs in as, as which identity, trusting which known_hosts: what an agent must share to serve it. */
  async agentIdentity(): Promise<AgentIdentity> {
    const authId = await loginIdentityId(await this.loginSource(), () => this.operatorAuth());
    return { user: this.options.user ?? this.config.ssh.user, authId, knownHostsFile: this.knownHostsFile };
  }

  /** The running agent for this command's identity, unless `--no-agent`; undefined when none runs. */
  agent(): Promise<AgentClient | undefined> {
    if (this.options.agent === false) return Promise.resolve(undefined);
    this.agentCache ??= this.agentIdentity()
      .then((identity) => AgentClient.connect(agentSocketPath(stateDir(), identity)))
      .then((client) => {
        if (!client) this.agentCache = undefined; // none yet: look again next time (`agent start` starts one)
        return client;
      });
    return this.agentCache;
  }
  private agentCache: Promise<AgentClient | undefined> | undefined;

  /**
   * The connections of this command (one bastion connection, nodes through it). Closed by `close()`. With the
   * default host key policy and a pool-ops agent running for this identity, the agent holds them instead.
   */
  async fleet(options: { hostKeys?: HostKeyPolicy } = {}): Promise<Fleet> {
    if (this.fleetCache && !options.hostKeys) return this.fleetCache;
    const inventory = await this.inventory(); // before the login: a bad inventory must not first ask for a passphrase
    const identity = await this.agentIdentity();
    // A custom policy (trust on first use, learnt keys) must see the keys itself: those commands connect directly.
    const relay = options.hostKeys ? undefined : await this.agent();
    const fleet = new Fleet(inventory, {
      user: identity.user,
      auth: relay ? { kind: "relayed", via: relay.socketPath } : await this.operatorAuth(),
      hostKeys: options.hostKeys ?? (await this.hostKeyPolicy()),
      ssh: this.config.ssh,
      relay,
    });
    if (!options.hostKeys) this.fleetCache = fleet;
    else this.extraFleets.push(fleet);
    return fleet;
  }
  private readonly extraFleets: Fleet[] = [];

  /**
   * A host is now another instance (an image rollout replaced it): the inventory file says so from here on, and the
   * next connection is bound to the new instance. An inventory read from EC2 is simply read again.
   */
  async recordReplacedInstance(hostName: string, instanceId: string): Promise<void> {
    const file = this.options.inventory ?? process.env.POOL_OPS_INVENTORY;
    if (!this.options.fromAws && file) recordReplacedInstance(file, hostName, instanceId);
    this.inventoryCache = undefined;
    await this.resetFleet();
  }

  /**
   * A host joined or left the pool (a rollout created or destroyed a relay): the inventory file says so from here on.
   * An inventory read from EC2 is simply read again.
   */
  async recordHostMembership(change: { readonly joined: InventoryHost } | { readonly left: string }): Promise<void> {
    const file = this.options.inventory ?? process.env.POOL_OPS_INVENTORY;
    if (!this.options.fromAws && file) recordHostMembership(file, change);
    this.inventoryCache = undefined;
    await this.resetFleet();
  }

  /** Closes the command's connections so the next use opens fresh ones (after hosts were replaced). */
  async resetFleet(): Promise<void> {
    const fleet = this.fleetCache;
    this.fleetCache = undefined;
    await fleet?.close();
  }

  /** A Group over the given hosts that prints a line per host as it finishes. */
  async group(hosts: readonly InventoryHost[], strategy?: Strategy, options: { fleet?: Fleet; note?: (r: Result) => string } = {}): Promise<Group> {
    const fleet = options.fleet ?? (await this.fleet());
    return new Group(fleet.connections(hosts), {
      strategy: strategy ?? { kind: "parallel", concurrency: this.options.concurrency ?? DEFAULT_CONCURRENCY },
      onResult: (r) => this.out.hostLine(r, options.note?.(r) ?? ""),
    });
  }

  /**
   * Asks before changing hosts. `--yes` answers yes; without a terminal to ask on, refuses (scripts must say --yes).
   */
  async confirm(question: string): Promise<void> {
    if (this.options.yes) return;
    if (!process.stdin.isTTY) throw new AbortedByOperator(`${question} — refusing without confirmation: no terminal to ask on; add --yes`);
    const rl = createInterface({ input: process.stdin, output: process.stderr });
    try {
      const answer = await rl.question(`${question} [y/N] `);
      if (!/^y(es)?$/i.test(answer.trim())) throw new AbortedByOperator("aborted: nothing was changed");
    } finally {
      rl.close();
    }
  }

  auditSink(): AuditSink {
    const group = this.options.auditLogGroup ?? process.env.POOL_OPS_AUDIT_LOG_GROUP;
    return {
      file: this.options.auditLog ?? defaultAuditLogPath(),
      cloudWatch: group ? { logGroup: group, aws: this.awsTarget } : undefined,
    };
  }

  /** Appends the audit line of a command that changed (or tried to change) hosts. */
  async audit(group: GroupResult, details?: Record<string, unknown>, overrides: Partial<AuditEntry> = {}): Promise<void> {
    let pool: string | undefined;
    try {
      pool = (await this.inventory()).pool;
    } catch {
      pool = undefined;
    }
    const entry = { ...auditEntryFor(this.commandLine, group, { pool, dryRun: this.dryRun, details }), ...overrides };
    for (const warning of await appendAudit(entry, this.auditSink())) this.out.warn(warning);
  }

  get elapsedMs(): number {
    return Date.now() - this.startedAt;
  }

  async close(): Promise<void> {
    await Promise.all([this.fleetCache, ...this.extraFleets].map((f) => f?.close()));
    (await this.agentCache)?.close();
  }
}

/** Turns an expected failure into the message an operator reads; undefined for unexpected errors (bugs). */
export function describeExpectedError(error: unknown): string | undefined {
  if (error instanceof OpsError) return `${error.host === "-" ? "" : `${error.host}: `}${error.step}: ${error.message}\n  remedy: ${error.remedy}`;
  if (error instanceof PoolConfigError || error instanceof InventoryError || error instanceof AbortedByOperator) return error.message;
  if (error instanceof AwsEndpointError) return `${error.message}\n  nothing was sent anywhere`;
  return undefined;
}

/**
 * Wraps a command action: builds the context from the global options, runs the action (which returns an exit
 * status), prints expected failures without a stack trace, closes every connection, sets the exit code.
 */
export function opsAction<A extends unknown[]>(
  action: (ctx: OpsContext, ...args: A) => Promise<number>,
): (...args: A) => Promise<void> {
  return async (...args: A) => {
    const command = args[args.length - 1] as Command;
    const globals = command.optsWithGlobals() as GlobalOptions;
    const ctx = new OpsContext(globals, process.argv.slice(2).join(" "));
    let code: number;
    try {
      code = await action(ctx, ...args);
    } catch (error) {
      const message = describeExpectedError(error);
      if (message === undefined) {
        ctx.out.warn(`pool-ops: unexpected error: ${process.env.POOL_OPS_DEBUG ? (error as Error).stack : (error as Error).message}`);
        if (!process.env.POOL_OPS_DEBUG) ctx.out.warn("  (set POOL_OPS_DEBUG=1 for the stack trace, and please report it)");
        code = EXIT_HOST_FAILURE;
      } else {
        ctx.out.warn(`pool-ops: ${message}`);
        code = error instanceof AbortedByOperator ? EXIT_ABORTED : error instanceof LeaseHeldError ? EXIT_LEASE_HELD : error instanceof OpsError && error.step !== "select hosts" ? EXIT_HOST_FAILURE : EXIT_USAGE;
      }
    } finally {
      await ctx.close();
    }
    process.exitCode = code;
  };
}

/** The exit status for a group result. */
export function exitStatus(group: GroupResult): number {
  return group.ok ? EXIT_OK : EXIT_HOST_FAILURE;
}
