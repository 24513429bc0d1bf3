/**
 * A host's P2P `topology.json`: the release's `share/<network>/topology.json` with the pool's roots as overlay.
 * - relay: both producers (trustable) and the other relays as local roots; the release's bootstrap peers,
 *   `useLedgerAfterSlot` and peer snapshot kept (they change per release: never kept here);
 * - producer: its own relays only (trustable); no bootstrap peers, no ledger peers, no peer snapshot.
 */
import type { PoolConfig } from "../config/schema";
import { composeNodeFile, type JsonObject } from "./json-merge";
import { RenderError, type RenderHost } from "./node-config";
import type { ReleaseNodeFiles } from "./release-files";

export function addressOf(config: PoolConfig, host: RenderHost): string {
  return config.topology.addresses[host.name] ?? host.privateIp;
}

export function topologyOverlay(config: PoolConfig, hosts: readonly RenderHost[], host: RenderHost): JsonObject {
  const port = config.relays.port;
  const known = new Set(hosts.map((h) => h.name));
  for (const name of Object.keys(config.topology.addresses)) {
    if (!known.has(name)) throw new RenderError(`topology.addresses.${name}: no such host in the inventory (expected one of ${[...known].join(", ")})`);
  }
  const relays = hosts.filter((h) => h.role === "relay");
  const producers = hosts.filter((h) => h.role === "producer");
  const point = (h: RenderHost) => ({ address: addressOf(config, h), port });
  if (host.role === "producer") {
    return {
      localRoots: [{ accessPoints: relays.map(point), advertise: false, trustable: true, valency: relays.length }],
      publicRoots: [],
      bootstrapPeers: null,
      useLedgerAfterSlot: -1,
      peerSnapshotFile: null,
    };
  }
  const others = relays.filter((r) => r.name !== host.name);
  return {
    localRoots: [
      { accessPoints: producers.map(point), advertise: false, trustable: true, valency: producers.length },
      ...(others.length > 0 ? [{ accessPoints: others.map(point), advertise: false, trustable: false, valency: others.length }] : []),
    ],
    publicRoots: [],
  };
}

export function renderTopology(config: PoolConfig, hosts: readonly RenderHost[], host: RenderHost, release: ReleaseNodeFiles): JsonObject {
  return composeNodeFile(release.topology, release.dir, topologyOverlay(config, hosts, host));
}
