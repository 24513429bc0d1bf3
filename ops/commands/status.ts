/**
 * `pool-ops status`: the whole pool on one screen, through the bastion — per node: reachable, role, slot and lag
 * behind the relays' best tip, peers, forging, KES (start, remaining, expiry), disk and memory, whether it runs the
 * release's config plus the pool's overlay and genesis files whose hashes match the pool's network — with problems
 * flagged by the same thresholds as the alert rules (monitoring/thresholds.ts). Exit 1 when any alert condition
 * holds; `--json` for scripts; `--watch [seconds]` refreshes until Ctrl-C.
 */
import { Command, InvalidArgumentError } from "commander";
import { hostLayout } from "../../config/host-layout";
import { NETWORKS } from "../../config/networks";
import { THRESHOLDS } from "../../monitoring/thresholds";
import { kesPeriodStart } from "../cardano";
import { EXIT_HOST_FAILURE, EXIT_OK, opsAction, type OpsContext } from "../context";
import { nodeFilesState, type NodeFilesState } from "../pool/node-files-state";
import { metricValue, readNodeMetrics } from "../pool/node-metrics";
import { readReleaseFacts } from "../pool/release-facts";
import type { PoolConfig } from "../../config/schema";
import type { Connection } from "../remote/connection";
import type { InventoryHost } from "../remote/inventory";
import { OpsError } from "../remote/result";

export interface NodeStatus {
  host: string;
  role: string;
  reachable: boolean;
  metrics: boolean;
  slot?: number;
  lag?: number;
  peers?: number;
  forging?: number;
  kes?: { startPeriod?: number; remainingPeriods?: number; expires?: string; daysLeft?: number };
  diskFree?: number;
  memoryAvailable?: number;
  /** A producer's leader guard, its last word this boot (stacks/boot/leader-guard.sh): leading, or why it stands by. */
  guard?: string;
  /** What `<binDir>/cardano-node --version` reports. */
  nodeVersion?: string;
  /** Its config.json against the release's config plus the overlay, and its genesis files (ops/pool/node-files-state.ts). */
  nodeFiles?: Omit<NodeFilesState, "problems">;
  problems: string[];
}

/** Free fraction of the fullest of / and the chain database, and available memory, in one round trip. */
const RESOURCES_SCRIPT = `df -P / "$1" 2>/dev/null | awk 'NR>1 {print "disk", $4, $2}'; awk '/^MemTotal:/ {t=$2} /^MemAvailable:/ {a=$2} END {print "mem", a, t}' /proc/meminfo`;

/**
 * What the leader guard decided at this boot, from the journal (it logs with the tag pool-leader-guard). Why a producer
 * named leader is not forging (Secrets Manager unreachable, the record unreadable) is only said there.
 */
async function readGuardDecision(c: Connection): Promise<string | undefined> {
  const r = await c.run("journalctl --boot --identifier=pool-leader-guard --output=cat --lines=20 --no-pager --quiet", { sudo: true, step: "read the leader guard's decision" });
  if (r.exitCode !== 0) return undefined;
  // Its decision ("leading: …" or "standing by: …") and what it logged after it (a refresh of held credentials).
  const lines = r.stdout.toString().split("\n").map((l) => l.trim()).filter((l) => l !== "");
  const decision = lines.findLastIndex((l) => /^(leading|standing by): /.test(l));
  return decision < 0 ? undefined : lines.slice(decision).join("; ");
}

async function readResources(c: Connection, database: string): Promise<{ diskFree?: number; memoryAvailable?: number }> {
  const r = await c.run(`set -- ${database}; ${RESOURCES_SCRIPT}`, { sudo: false, step: "read disk and memory" });
  if (r.exitCode !== 0) return {};
  let diskFree: number | undefined;
  let memoryAvailable: number | undefined;
  for (const line of r.stdout.toString().split("\n")) {
    const [kind, a, b] = line.trim().split(/\s+/);
    const free = Number(a) / Number(b);
    if (!Number.isFinite(free)) continue;
    if (kind === "disk") diskFree = diskFree === undefined ? free : Math.min(diskFree, free);
    if (kind === "mem") memoryAvailable = free;
  }
  return { ...(diskFree !== undefined ? { diskFree } : {}), ...(memoryAvailable !== undefined ? { memoryAvailable } : {}) };
}

/** The node's files against the pool's (one command: ops/pool/release-facts.py with the installed config). */
async function readNodeFiles(c: Connection, config: PoolConfig, host: InventoryHost, installedConfig: string): Promise<{ state?: NodeFilesState; nodeVersion?: string; problem?: string }> {
  try {
    const facts = await readReleaseFacts(c, config, { installedConfig });
    return { state: nodeFilesState(config, host, facts), ...(facts.nodeVersion ? { nodeVersion: facts.nodeVersion } : {}) };
  } catch (error) {
    if (error instanceof OpsError) return { problem: `node files not checked: ${error.message}` };
    throw error;
  }
}

export async function collectStatus(ctx: OpsContext): Promise<{ nodes: NodeStatus[]; others: NodeStatus[]; problems: string[] }> {
  const config = ctx.config;
  const inventory = await ctx.inventory();
  const layout = hostLayout(config);
  const fleet = await ctx.fleet();
  const nodes = inventory.hosts.filter((h) => h.role === "relay" || h.role === "producer");
  const statuses = await Promise.all(
    nodes.map(async (h): Promise<NodeStatus> => {
      const c = fleet.connection(h.name);
      const s: NodeStatus = { host: h.name, role: h.role, reachable: false, metrics: false, problems: [] };
      try {
        const m = await readNodeMetrics(c, layout.nodeConfig, config.node.metricsPort);
        s.reachable = true;
        // Independent reads, each one command: in parallel on the host's connection.
        const [resources, guard, files] = await Promise.all([
          readResources(c, layout.database),
          h.role === "producer" ? readGuardDecision(c) : undefined,
          readNodeFiles(c, config, h, layout.nodeConfig),
        ]);
        Object.assign(s, resources);
        if (guard !== undefined) s.guard = guard;
        if (files.nodeVersion) s.nodeVersion = files.nodeVersion;
        if (files.state) {
          const { problems, ...state } = files.state;
          s.nodeFiles = state;
          s.problems.push(...problems);
        } else s.problems.push(files.problem!);
        if (!m) {
          s.problems.push("node down: no metrics");
          return s;
        }
        s.metrics = true;
        s.slot = metricValue(m, "slotNum");
        s.peers = metricValue(m, "connectedPeers") ?? metricValue(m, "peers");
        s.forging = metricValue(m, "forging_enabled");
        if (h.role === "producer") {
          const start = metricValue(m, "operationalCertificateStartKESPeriod");
          const remaining = metricValue(m, "remainingKESPeriods");
          if (start !== undefined && remaining !== undefined && remaining > 0) {
            const expiry = kesPeriodStart(start + NETWORKS[config.network].maxKESEvolutions, config.network);
            s.kes = { startPeriod: start, remainingPeriods: remaining, expires: expiry.toISOString(), daysLeft: Math.floor(((expiry.getTime() - Date.now()) / 86_400_000) * 10) / 10 };
          } else if (start !== undefined || remaining !== undefined) s.kes = { ...(start !== undefined ? { startPeriod: start } : {}), ...(remaining !== undefined ? { remainingPeriods: remaining } : {}) };
        }
      } catch (error) {
        s.problems.push(`unreachable: ${(error as Error).message}`);
      }
      return s;
    }),
  );
  const tip = Math.max(...statuses.filter((s) => s.role === "relay" && s.slot !== undefined).map((s) => s.slot!));
  for (const s of statuses) {
    if (s.slot !== undefined && Number.isFinite(tip)) {
      s.lag = tip - s.slot;
      if (s.lag > THRESHOLDS.maxSlotLag) s.problems.push(`not synced: ${s.lag} slots behind`);
    }
    const minPeers = s.role === "relay" ? THRESHOLDS.minRelayPeers : THRESHOLDS.minProducerPeers;
    if (s.peers !== undefined && s.peers < minPeers) s.problems.push(`${s.peers} peers (< ${minPeers})`);
    if (s.kes?.remainingPeriods !== undefined && s.kes.remainingPeriods < THRESHOLDS.kesPeriodsWarning) s.problems.push(`KES: ${s.kes.remainingPeriods} periods left: rotate (pool-ops rotate-kes)`);
    if (s.diskFree !== undefined && s.diskFree < THRESHOLDS.minDiskFree) s.problems.push(`disk ${(s.diskFree * 100).toFixed(0)}% free`);
    if (s.memoryAvailable !== undefined && s.memoryAvailable < THRESHOLDS.minMemoryAvailable) s.problems.push(`memory ${(s.memoryAvailable * 100).toFixed(0)}% available`);
  }
  const problems: string[] = [];
  const forging = statuses.filter((s) => s.role === "producer" && s.forging === 1).map((s) => s.host);
  if (forging.length > 1) problems.push(`MORE THAN ONE PRODUCER FORGING: ${forging.join(", ")}`);
  if (forging.length === 0) {
    problems.push("no producer is forging");
    // The guards say why: the producer SSM names as leader says what kept it from its credentials.
    for (const s of statuses) if (s.role === "producer" && s.guard !== undefined && s.forging !== 1) s.problems.push(`not forging; its leader guard at boot: ${s.guard}`);
  }
  // Reachability of the hosts that run no node (the bastion, monitoring): one command each.
  const others = await Promise.all(
    [inventory.bastion, ...inventory.hosts.filter((h) => h.role !== "relay" && h.role !== "producer")]
      .map(async (h): Promise<NodeStatus> => {
        try {
          await fleet.connection(h.name).runChecked("true", { sudo: false, step: "reach" });
          return { host: h.name, role: h.role, reachable: true, metrics: false, problems: [] };
        } catch (error) {
          return { host: h.name, role: h.role, reachable: false, metrics: false, problems: [`unreachable: ${(error as Error).message}`] };
        }
      }),
  );
  for (const s of [...statuses, ...others]) for (const p of s.problems) problems.push(`${s.host}: ${p}`);
  return { nodes: statuses, others, problems };
}

function render(ctx: OpsContext, view: Awaited<ReturnType<typeof collectStatus>>): void {
  const pct = (v?: number) => (v === undefined ? "-" : `${Math.round(v * 100)}%`);
  const header = ["host", "role", "up", "slot", "lag", "peers", "forging", "KES left", "expires (UTC)", "disk free", "mem avail", "config", "genesis"];
  // "release+overlay": config.json is the installed release's config plus the pool's overlay, and the node runs it.
  const configCell = (f: NodeStatus["nodeFiles"]) => (!f ? "-" : !f.configMatches ? "DIFFERS" : f.restartPending ? "RESTART PENDING" : "release+overlay");
  const rows = view.nodes.map((s) => [
    s.host,
    s.role,
    s.metrics ? "yes" : s.reachable ? "NODE DOWN" : "UNREACHABLE",
    s.slot?.toString() ?? "-",
    s.lag?.toString() ?? "-",
    s.peers?.toString() ?? "-",
    s.role === "producer" ? (s.forging === 1 ? "FORGING" : s.forging === 0 ? "no" : "-") : "",
    s.kes?.daysLeft !== undefined ? `${s.kes.daysLeft} d (${s.kes.remainingPeriods} periods)` : "",
    s.kes?.expires ? s.kes.expires.slice(0, 16).replace("T", " ") : "",
    pct(s.diskFree),
    pct(s.memoryAvailable),
    configCell(s.nodeFiles),
    !s.nodeFiles ? "-" : s.nodeFiles.genesisMatches ? "match" : "MISMATCH",
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd();
  ctx.out.info(line(header));
  for (const [i, r] of rows.entries()) {
    const text = line(r);
    ctx.out.info(view.nodes[i]!.problems.length > 0 ? ctx.out.paint(31, text) : text);
  }
  for (const s of view.nodes) if (s.guard !== undefined) ctx.out.info(`${s.host} leader guard (this boot): ${s.guard}`);
  for (const o of view.others) ctx.out.info(`${o.host} (${o.role}): ${o.reachable ? "reachable" : ctx.out.paint(31, "UNREACHABLE")}`);
  if (view.problems.length === 0) ctx.out.info("no problems");
  else for (const p of view.problems) ctx.out.info(ctx.out.paint(31, `⚠ ${p}`));
}

export async function status(ctx: OpsContext, options: { watch?: number | boolean }): Promise<number> {
  const interval = options.watch === true ? 10 : typeof options.watch === "number" ? options.watch : 0;
  for (;;) {
    const view = await collectStatus(ctx);
    if (ctx.out.json) ctx.out.data(view);
    else {
      if (interval > 0 && process.stdout.isTTY) process.stdout.write("\x1b[2J\x1b[H");
      render(ctx, view);
    }
    if (interval === 0) return view.problems.length > 0 ? EXIT_HOST_FAILURE : EXIT_OK;
    await new Promise((r) => setTimeout(r, interval * 1000));
  }
}

function seconds(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1) throw new InvalidArgumentError("expected seconds (a positive integer)");
  return Number(value);
}

export function statusCommand(): Command {
  return new Command("status")
    .description("one screen for the whole pool: sync, peers, forging, KES, disk, memory, node config and genesis; exit 1 when any alert condition holds")
    .option("--watch [seconds]", "refresh every N seconds (default 10) until Ctrl-C", seconds)
    .action(opsAction(async (ctx, options: { watch?: number | boolean }) => status(ctx, options)));
}
