/**
 * The connections of one pool-ops command: one to the bastion, and one per node riding a channel of it. Built from
 * the inventory; each connection opens on first use and all close together at the end of the command.
 */
import type { PoolConfig } from "../../config/schema";
import { Connection, type CommandRelay, type ConnectionSettings } from "./connection";
import type { HostKeyPolicy } from "./host-keys";
import { keyTextAuth, type OperatorAuth } from "./operator-identity";
import { allHosts, type Inventory, type InventoryHost } from "./inventory";

export interface FleetOptions {
  readonly user: string;
  /** How to log in (operator-identity.ts). Either this or `privateKey`. */
  readonly auth?: OperatorAuth;
  /** An unencrypted private key's text (what tests and the lab harness hold). Either this or `auth`. */
  readonly privateKey?: string;
  readonly hostKeys: HostKeyPolicy;
  readonly ssh: PoolConfig["ssh"];
  /** Where commands go instead of direct connections (a pool-ops agent). @default none */
  readonly relay?: CommandRelay | undefined;
}

export function connectionSettings(options: FleetOptions): ConnectionSettings {
  const { ssh } = options;
  const auth = options.auth ?? (options.privateKey !== undefined ? keyTextAuth(options.privateKey, "the given private key") : undefined);
  if (!auth) throw new Error("FleetOptions: give auth or privateKey");
  return {
    user: options.user,
    auth,
    hostKeys: options.hostKeys,
    connectTimeoutMs: ssh.connectTimeoutSeconds * 1000,
    keepaliveIntervalMs: ssh.keepaliveIntervalSeconds * 1000,
    keepaliveCountMax: ssh.keepaliveCountMax,
    commandTimeoutSeconds: ssh.commandTimeoutSeconds,
    sudo: ssh.sudo,
    ...(options.relay ? { relay: options.relay } : {}),
  };
}

export class Fleet {
  private readonly byName = new Map<string, Connection>();
  readonly settings: ConnectionSettings;

  constructor(
    readonly inventory: Inventory,
    options: FleetOptions,
  ) {
    this.settings = connectionSettings(options);
    const { bastion } = inventory;
    const bastionConnection = new Connection(
      { name: bastion.name, role: bastion.role, address: bastion.publicIp as string, port: inventory.bastionPort ?? options.ssh.port, instanceId: bastion.instanceId, pool: inventory.pool },
      this.settings,
    );
    this.byName.set(bastion.name, bastionConnection);
    for (const host of inventory.hosts) {
      this.byName.set(host.name, new Connection({ name: host.name, role: host.role, address: host.privateIp, port: options.ssh.port, instanceId: host.instanceId, pool: inventory.pool }, this.settings, bastionConnection));
    }
  }

  get bastion(): Connection {
    return this.connection(this.inventory.bastion.name);
  }

  connection(name: string): Connection {
    const connection = this.byName.get(name);
    if (!connection) throw new Error(`no host ${name} in the inventory (hosts: ${[...this.byName.keys()].join(", ")})`);
    return connection;
  }

  connections(hosts: readonly (InventoryHost | string)[] = allHosts(this.inventory)): Connection[] {
    return hosts.map((h) => this.connection(typeof h === "string" ? h : h.name));
  }

  /** Closes every node connection, then the bastion's. */
  async close(): Promise<void> {
    const bastion = this.bastion;
    await Promise.all([...this.byName.values()].filter((c) => c !== bastion).map((c) => c.close()));
    await bastion.close();
  }
}
