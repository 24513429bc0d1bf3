/**
 * `pool-ops rollout`: every change of the nodes stack that stops, replaces, adds or removes nodes, applied one node at
 * a time — a new instance type, a root or chain volume size, a changed relay count — and, with `--image` (or as
 * `image rollout`), a golden image put on every relay and producer.
 *
 * It plans the synthesised nodes stack (`terraform plan`, read per host: ops/plan/node-changes.ts), orders the hosts
 * (ops/rollout/rollout-plan.ts: new relays, relays one at a time while the others serve, every topology when hosts
 * join or leave, removed relays, the standby, a promotion with the old leader fenced, the old leader, optionally a
 * promotion back) and applies each host's resources alone (`terraform apply -target=… [-replace=…]`), gated on its
 * health. The leader is never stopped while it leads. Progress is journalled (ops/rollout/rollout-journal.ts): an
 * interrupted or failed rollout resumes where it stopped, and a host whose change is already made is only checked.
 */
import { Command } from "commander";
import { poolAddressPlan } from "../../config/address-plan";
import { resourceName } from "../../config/names";
import { stacksInOrder, terraformEnv, type SynthesisedStack } from "../../tools/terraform";
import { GoldenImageError, GoldenImages, type PoolInstanceState } from "../aws/golden-images";
import { LeaderParameter } from "../aws/leader-parameter";
import { EXIT_ABORTED, EXIT_OK, OpsContext, opsAction, stateDir } from "../context";
import { connectToNewInstance } from "../image/connect-new-instance";
import { leaseForStep, NO_LEASE, type LeaseGuard } from "../lease/lease-guard";
import { LeaseTable } from "../lease/lease-table";
import { LeaseTableJournal, type PoolJournal } from "../lease/pool-journal";
import { registerRecovery } from "../lease/recoveries";
import { leaseWaitOption, type LeaseOptions } from "../lease/wait-option";
import { withPoolLease } from "../lease/with-lease";
import { stoppingNodes, type NodesPlan } from "../plan/node-changes";
import { nodesPlanLines } from "../plan/node-changes-report";
import { NodesPlanError, planNodesStack } from "../plan/read-nodes-plan";
import { waitHealthy } from "../pool/health";
import { Interrupted, StepControl } from "../pool/step-control";
import type { InventoryHost } from "../remote/inventory";
import { GroupResult, OpsError, type Result } from "../remote/result";
import { growFilesystems, guardBeforeTakingDown } from "../rollout/node-guards";
import { describeProgress, rolloutEntry, RolloutJournalStore, ROLLOUT_JOURNAL_COMMAND, sameTarget, type RolloutJournal } from "../rollout/rollout-journal";
import { abandonRollout, refuseUnfinishedRollout, resumeCommand } from "../rollout/unfinished-rollout";
import { describeStep, rolloutSteps, type NodeStepEffect, type RolloutStep } from "../rollout/rollout-plan";
import { hostResourceAddresses, stackDigest, StackTerraform } from "../rollout/stack-terraform";
import { resolveImages, type TargetImages } from "../rollout/target-images";
import { promote } from "./promote";
import { pushConfig } from "./push-config";

export interface RolloutOptions {
  /** An AMI for every relay and producer. @default none: only the plan's changes (image rollout: the parameters') */
  readonly image?: string;
  /** cdktf's output directory (with manifest.json). @default "cdktf.out" */
  readonly stacks?: string;
  readonly promoteBack?: boolean;
  /** Drop an unfinished rollout's journal (of another target) and start over. */
  readonly restart?: boolean;
  /** Drop an unfinished rollout's journal and change nothing: the pool stays as the rollout left it. */
  readonly abandon?: boolean;
}

/** How the rollout was asked for: `image rollout` puts the golden image on every node and wants nothing else pending. */
export interface RolloutMode {
  readonly imageRollout: boolean;
}

const NO_PLAN: NodesPlan = { hosts: [], others: [] };

/** `lease`: the pool's lease the command holds (withPoolLease); every step, and the promotions it runs, check it. */
export async function rollout(ctx: OpsContext, options: RolloutOptions, lease: LeaseGuard = NO_LEASE, mode: RolloutMode = { imageRollout: false }): Promise<number> {
  const started = Date.now();
  const config = ctx.config;
  const command = mode.imageRollout ? "pool-ops image rollout" : "pool-ops rollout";
  let inventory = await ctx.inventory();
  const pool = inventory.pool;
  const target = ctx.awsTarget;
  const producers = inventory.hosts.filter((h) => h.role === "producer");
  const images = new GoldenImages(target);
  const leaderParameter = inventory.parameters.leader ? new LeaderParameter(target, inventory.parameters.leader, producers.map((p) => p.name)) : undefined;
  const control = new StepControl(lease);
  const results: Result[] = [];
  let journal: RolloutJournal | undefined;
  // A dry run holds no lease: it reads the journal beside it, and writes nothing.
  const readOnlyTable = lease.journal ? undefined : new LeaseTable(target, pool);
  let store: RolloutJournalStore | undefined;
  try {
    if (!leaderParameter) throw new OpsError("-", "preflight", "the inventory names no leader parameter", "use the nodes stack's inventory output");
    const opened = await RolloutJournalStore.open(lease.journal ?? readOnly(new LeaseTableJournal(readOnlyTable!)), pool);
    store = opened.store;
    if (opened.adopted && !ctx.dryRun) ctx.out.warn(`pool-ops: an unfinished rollout is journalled in ${opened.adopted} (by an older pool-ops): it moves beside the pool's lease at the next step`);
    if (options.abandon) return await abandonRollout(ctx, store, opened.journal);
    const outdir = options.stacks ?? "cdktf.out";
    let stacks: SynthesisedStack[];
    try {
      stacks = stacksInOrder(outdir);
    } catch (error) {
      throw new OpsError("-", "preflight", (error as Error).message, "run from the project directory after `npm run synth` (or give --stacks DIR)");
    }
    const nodesStack = stacks.find((s) => s.name === "nodes");
    if (!nodesStack) throw new OpsError("-", "preflight", `${outdir} has no nodes stack`, "synthesise the pool first (npm run synth)");
    const dependents = stacks.slice(stacks.indexOf(nodesStack) + 1);
    const addresses = hostResourceAddresses(nodesStack);
    const env = terraformEnv(stateDir());
    const tf = new StackTerraform(env, ctx.out);
    await tf.init(nodesStack);
    // The stacks applied last (monitoring alarms) too, now: a directory synthesised anew has none initialised, and an
    // init failing at the end would leave every node changed and the rollout unfinished.
    for (const stack of dependents) await tf.init(stack);

    // ---- what to roll out, where things stand ---------------------------------------------------------------------
    const wanted: TargetImages | undefined = mode.imageRollout || options.image ? await resolveImages(images, pool, options.image) : undefined;
    const current = await planNodesStack(nodesStack, env).catch((error: Error) => {
      throw new OpsError("-", "preflight", error.message, error instanceof NodesPlanError ? "fix what the plan reports (npm run plan shows it), then run the rollout again" : "check the stacks and credentials");
    });
    let planned = current;
    if (mode.imageRollout) {
      // No other resource change pending, so a replacement changes that instance and nothing more. Outputs may be
      // (a host applied alone with -target leaves the inventory output to the last step): they are not resources.
      const pending = [...current.hosts.filter((h) => h.effect !== "none").map((h) => h.host), ...current.others.map((o) => o.address)];
      if (pending.length > 0) throw new OpsError("-", "preflight", `the nodes stack has pending changes (${pending.join(", ")})`, "roll them out with the image: pool-ops rollout --image AMI (or deploy them first), so an image rollout replaces instances and nothing else");
      planned = NO_PLAN;
    }
    const plannedEffect = (host: string) => planned.hosts.find((h) => h.host === host)?.effect ?? "none";
    const relays = () => inventory.hosts.filter((h) => h.role === "relay");
    const changes = new Map<string, NodeStepEffect>();
    for (const h of planned.hosts) if ((h.role === "relay" || h.role === "producer") && h.effect !== "none") changes.set(h.host, h.effect);
    if (wanted) for (const h of inventory.hosts) if ((h.role === "relay" || h.role === "producer") && changes.get(h.name) !== "destroy") changes.set(h.name, "replace");

    const digest = stackDigest(nodesStack);
    let existing = opened.journal;
    if (existing && !sameTarget(existing, wanted?.images, digest)) {
      if (!options.restart) {
        const of = existing.images ? `of ${existing.images.relay}` : "of another synthesised nodes stack";
        throw new OpsError("-", "preflight", `an unfinished rollout ${of} (started ${existing.startedAt}, ${describeProgress(existing)}) is journalled ${store.where}`, `finish it (${existing.resume ?? (existing.images ? "run without --image" : "synthesise the config it started from")}), start over with --restart, or drop it with --abandon`);
      }
      existing = undefined;
    }
    const leader = await leaderParameter.read();
    const resume = resumeCommand(mode.imageRollout, options);
    journal = existing ?? { pool, ...(wanted ? { images: wanted.images } : {}), stackDigest: digest, leaderAtStart: leader, promoteBack: Boolean(options.promoteBack), startedAt: new Date().toISOString(), done: [], resume };
    const steps: RolloutStep[] = journal.steps ?? rolloutSteps({ relays: relays().map((r) => r.name), producers: producers.map((p) => p.name), leader: journal.leaderAtStart, promoteBack: journal.promoteBack, changes });
    journal = { ...journal, steps };
    for (const step of steps) {
      if (step.kind === "node" && step.effect !== "destroy" && !addresses.get(step.host)?.instance) throw new OpsError(step.host, "preflight", `no instance named ${resourceName(pool, step.host)} in ${nodesStack.directory}/cdk.tf.json`, "synthesise the same pool config the inventory came from");
    }

    let instances = await images.poolInstances(pool);
    const onImage = (host: string, role: "relay" | "producer", now: Map<string, PoolInstanceState>) => wanted !== undefined && now.get(resourceName(pool, host))?.imageId === wanted.images[role];
    /** Whether a host's step still has something to do (a resumed rollout finds some done by the run before). */
    const pendingFor = (step: Extract<RolloutStep, { kind: "node" }>, now: Map<string, PoolInstanceState>): boolean => {
      const exists = now.has(resourceName(pool, step.host));
      if (step.effect === "create") return !exists;
      if (step.effect === "destroy") return exists;
      if (wanted && step.effect === "replace" && !onImage(step.host, step.role, now)) return true;
      return plannedEffect(step.host) !== "none";
    };
    const lines = steps.map((s) => {
      const state = journal!.done.includes(s.id) ? "done" : s.kind !== "node" || pendingFor(s, instances) ? "to do" : wanted && s.effect === "replace" ? "on the image: health check only" : "nothing pending: health check only";
      return `  ${s.id.padEnd(22)} ${describeStep(s, wanted?.images.relay)} [${state}]`;
    });
    const planLines = planned.hosts.some((h) => h.effect !== "none") ? `\nthe nodes stack's plan, per host:\n${nodesPlanLines(planned).join("\n")}` : "";
    const what = wanted ? `roll out ${wanted.images.relay}${wanted.images.producer !== wanted.images.relay ? ` (producers ${wanted.images.producer})` : ""}` : "roll out the nodes stack's plan";
    const heading = `${what} to ${pool}, leader ${leader}${wanted?.recordNote ?? ""}${existing ? `; resuming: ${journal.done.length} of ${steps.length} steps done` : ""}`;

    const nodeSteps = steps.filter((s) => s.kind === "node");
    if (!existing && nodeSteps.every((s) => !pendingFor(s, instances))) {
      // Nothing to change: a rerun after a finished rollout must not move the leader for nothing. An explicit
      // `--image` the nodes already run is still recorded, so instances made later start from it too.
      const names = wanted?.toRecord.map((r) => wanted.parameterOf(r)).join(" and ") ?? "";
      if (wanted && wanted.toRecord.length > 0 && !ctx.dryRun) {
        await ctx.confirm(`every node already runs ${options.image}: record it in ${names}?`);
        await wanted.record();
      }
      const recordedNote = !wanted || wanted.toRecord.length === 0 ? "" : ctx.dryRun ? `; dry run: would record it in ${names}` : `; recorded it in ${names}`;
      const rest = planned.others.length + planned.hosts.filter((h) => h.effect !== "none" && h.role !== "relay" && h.role !== "producer").length;
      if (ctx.out.json) ctx.out.data({ ...(wanted ? { images: wanted.images } : {}), leader, steps: [], nothingToDo: true, recorded: ctx.dryRun || !wanted ? [] : wanted.toRecord.map((r) => wanted.parameterOf(r)) });
      else if (wanted) ctx.out.info(`every relay and producer already runs ${wanted.images.relay}: nothing to do (${leader} leads)${recordedNote}`);
      else ctx.out.info(`no relay or producer changes in the nodes stack's plan: nothing to roll out (${leader} leads)${rest > 0 ? `; ${rest} other change(s) pending: apply them with npm run deploy` : ""}${planLines}`);
      return EXIT_OK;
    }
    if (ctx.dryRun) {
      if (ctx.out.json) ctx.out.data({ dryRun: true, ...(wanted ? { images: wanted.images } : {}), leader, hosts: planned.hosts, steps: steps.map((s) => ({ ...s, done: journal!.done.includes(s.id) })) });
      else ctx.out.info(`dry run: would ${heading}${planLines}\n${lines.join("\n")}\nnothing changed`);
      return EXIT_OK;
    }
    if (!ctx.out.json) ctx.out.info(`${heading}${planLines}\n${lines.join("\n")}`);
    if (steps.every((s) => journal!.done.includes(s.id))) {
      await store.drop();
      if (!ctx.out.json) ctx.out.info("nothing to do: every step is done");
      return EXIT_OK;
    }
    await ctx.confirm(`change ${nodeSteps.length} node(s) one at a time${wanted ? " with the new image" : ""}?`);
    control.install();
    await wanted?.record();
    await store.save(journal);
    // The rollout's own steps (promote, push-config) journal inside it: the rollout stays recorded around them.
    const stepLease = leaseForStep(lease, () => rolloutEntry(journal!));

    const healthTimeoutMs = config.image.rolloutHealthTimeoutSeconds * 1000;
    for (const step of steps) {
      if (journal.done.includes(step.id)) continue;
      await control.checkpoint(step.id);
      const stepStarted = Date.now();
      if (!ctx.out.json) ctx.out.info(`${step.id}: ${describeStep(step, wanted?.images.relay)}`);
      if (step.kind === "node") {
        instances = await images.poolInstances(pool);
        const planHost = poolAddressPlan(config).hosts.find((h) => h.name === step.host);
        const inventoryHost = inventory.hosts.find((h) => h.name === step.host);
        if (pendingFor(step, instances)) {
          if (step.effect === "stop" || step.effect === "replace" || step.effect === "destroy") {
            // A leaving relay is out of the inventory by now (the topology step): the others are still checked.
            await guardBeforeTakingDown(ctx, { name: step.host, role: step.role }, relays(), step.effect === "stop" ? "stopping" : step.effect === "replace" ? "replacing" : "destroying");
          }
          const instance = instances.get(resourceName(pool, step.host));
          if (step.role === "producer" && instance && step.effect === "replace") await images.allowTermination(instance.instanceId);
          const targets = step.effect === "destroy" ? (planned.hosts.find((h) => h.host === step.host)?.addresses ?? []) : addresses.get(step.host)!.all;
          if (targets.length === 0) throw new OpsError(step.host, step.id, `the nodes stack's plan has nothing of ${step.host} to ${step.effect}`, "synthesise the config the rollout started from, or start over with --restart");
          const replace = wanted && step.effect === "replace" && plannedEffect(step.host) !== "replace" ? [`-replace=${addresses.get(step.host)!.instance}`] : [];
          await tf.apply(nodesStack, [...targets.map((t) => `-target=${t}`), ...replace], step.id, command);
          await ctx.resetFleet();
        } else if (!ctx.out.json) ctx.out.info(wanted && step.effect === "replace" ? `    ${step.host} already runs the image` : `    ${step.host}: nothing pending`);
        if (step.effect === "destroy") {
          await ctx.recordHostMembership({ left: step.host });
          inventory = await ctx.inventory();
        } else {
          // The new instance in the inventory and its host keys learnt (from its console) before anything else, so an
          // operator, or the next command, reaches it even if the rollout stops here.
          const instance = (await images.poolInstances(pool)).get(resourceName(pool, step.host));
          if (!instance) throw new OpsError(step.host, step.id, `no running instance named ${resourceName(pool, step.host)} after the apply`, "look at the EC2 console, then run the rollout again");
          if (!inventoryHost && planHost) await ctx.recordHostMembership({ joined: { name: planHost.name, role: "relay", privateIp: planHost.privateIp, publicIp: undefined, instanceId: instance.instanceId, availabilityZone: planHost.availabilityZone } });
          else if (inventoryHost && instance.instanceId !== inventoryHost.instanceId) await ctx.recordReplacedInstance(step.host, instance.instanceId);
          inventory = await ctx.inventory();
          const host: InventoryHost = inventory.hosts.find((h) => h.name === step.host)!;
          const c = await connectToNewInstance(ctx, target, { host, instanceId: instance.instanceId, what: `${host.name} (${step.effect === "create" ? "new" : step.effect === "replace" ? "replaced" : "changed"})`, rerun: `run ${command} again` }, healthTimeoutMs);
          try {
            const grows = planned.hosts.find((h) => h.host === step.host)?.grows ?? [];
            if (grows.length > 0 && step.effect !== "create" && step.effect !== "replace") ctx.out.info(`    ${step.host}: ${await growFilesystems(c, `${config.node.home.replace(/\/+$/, "")}/db`, grows)}`);
            await control.checkpoint(`health:${step.host}`);
            const health = await waitHealthy(config, c, healthTimeoutMs);
            if (!health.healthy) {
              throw new OpsError(step.host, "health gate", `${step.host} is not healthy${wanted && step.effect === "replace" ? " on the new image" : ""} after ${config.image.rolloutHealthTimeoutSeconds} s: ${health.problem}; the rollout stopped before the next node`, `fix the node (its node log, chain volume), then run ${command} again: it resumes here`);
            }
            if (!ctx.out.json) ctx.out.info(`    ${step.host} healthy: slot ${health.slot} (lag ${health.lag}), ${health.peers} peers`);
          } finally {
            await c.close();
          }
        }
      } else if (step.kind === "promote") {
        const now = await leaderParameter.read();
        const oldLeaderStep = steps.find((s): s is Extract<RolloutStep, { kind: "node" }> => s.kind === "node" && s.host === journal!.leaderAtStart);
        const oldLeaderDone = step.to !== journal.leaderAtStart && (!oldLeaderStep || !pendingFor(oldLeaderStep, await images.poolInstances(pool)));
        if (now === step.to) {
          if (!ctx.out.json) ctx.out.info(`    ${step.to} already leads`);
        } else if (oldLeaderDone) {
          if (!ctx.out.json) ctx.out.info(`    ${journal.leaderAtStart} ${wanted ? "already runs the image" : "has nothing pending"}: no promotion needed`);
        } else {
          await runSubcommand(ctx, `promote ${step.to}`, (sub) => promote(sub, {}, stepLease), step.to, "promote", command);
        }
      } else if (step.kind === "topology") {
        for (const host of step.leaving) await ctx.recordHostMembership({ left: host });
        inventory = await ctx.inventory();
        // Rendered from the inventory as it now is: the new relays in, the leaving ones out.
        await runSubcommand(ctx, "push-config", (sub) => pushConfig(sub, { reload: true }, stepLease), "-", "topology", command);
      } else {
        // Whatever else the plan holds (the inventory output, the bastion, parameters) — but nothing that stops a node.
        await settleNodes(tf, nodesStack, env, command);
        for (const stack of dependents) await tf.apply(stack, [], `apply the ${stack.name} stack`, command);
      }
      journal.done.push(step.id);
      await store.save(journal);
      results.push({ host: step.kind === "node" ? step.host : step.kind === "promote" ? step.to : "-", status: "changed", exitCode: 0, stdout: "", stderr: "", durationMs: Date.now() - stepStarted, detail: { step: step.id } });
    }
    control.uninstall();
    await store.drop();
    await ctx.audit(new GroupResult(results, Date.now() - started), { ...(wanted ? { images: wanted.images } : {}), steps: steps.map((s) => s.id) });
    const finalLeader = await leaderParameter.read();
    if (ctx.out.json) ctx.out.data({ ...(wanted ? { images: wanted.images } : {}), steps: steps.map((s) => s.id), leader: finalLeader, durationMs: Date.now() - started });
    else ctx.out.info(`rollout complete: ${wanted ? `every relay and producer runs ${wanted.images.relay}` : "the nodes stack is applied"}; ${finalLeader} leads (${((Date.now() - started) / 1000).toFixed(0)} s)`);
    return EXIT_OK;
  } catch (error) {
    control.uninstall();
    const where = journal && store ? `${journal.done.length} steps done, journalled ${store.where}: run ${journal.resume ?? command} again to resume (or drop it with --abandon)` : "nothing was changed";
    if (results.length > 0) await ctx.audit(new GroupResult(results, Date.now() - started), { stoppedAt: (error as Error).message });
    if (error instanceof Interrupted) {
      ctx.out.warn(`pool-ops: ${command.replace(/^pool-ops /, "")} ${error.message}: ${where}`);
      return EXIT_ABORTED;
    }
    if (error instanceof GoldenImageError) throw new OpsError("-", "rollout", `${error.message}; ${where}`, "check the EC2 console and AWS credentials");
    if (error instanceof OpsError) throw new OpsError(error.host, error.step, `${error.message}; ${journal && journal.done.length + results.length > 0 ? where : "the pool is as it was"}`, error.remedy, error.status);
    throw error;
  } finally {
    images.close();
    leaderParameter?.close();
    readOnlyTable?.close();
  }
}

/** The pool journal as a dry run sees it: read, never written. */
function readOnly(journal: PoolJournal): PoolJournal {
  const refuse = () => Promise.reject(new Error("a dry run writes no journal"));
  return { read: () => journal.read(), write: refuse, clear: refuse };
}

// Every other changing command refuses a pool that is mid-rollout; `rollout` and `image rollout` resume it.
registerRecovery(ROLLOUT_JOURNAL_COMMAND, refuseUnfinishedRollout, { ownRunFinishes: true, finishedBy: ["image rollout"] });

/** A command the rollout runs as one of its steps, under the rollout's lease, with its own audit line. */
async function runSubcommand(ctx: OpsContext, what: string, run: (sub: OpsContext) => Promise<number>, host: string, step: string, command: string): Promise<void> {
  await ctx.resetFleet();
  const sub = new OpsContext({ ...ctx.options, yes: true, dryRun: false, json: ctx.out.json, hosts: undefined, role: undefined }, `${ctx.commandLine} (${what})`);
  try {
    const code = await run(sub);
    if (code !== EXIT_OK) throw new OpsError(host, step, `${what} ended with exit ${code}`, `see above; run ${command} again to resume here`);
  } finally {
    await sub.close();
  }
}

/** The last full apply of the nodes stack, refused if anything in it would still take a relay or producer down. */
async function settleNodes(tf: StackTerraform, stack: SynthesisedStack, env: NodeJS.ProcessEnv, command: string): Promise<void> {
  const rest = await planNodesStack(stack, env);
  const down = stoppingNodes(rest);
  if (down.length > 0) throw new OpsError(down[0]!.host, "settle", `the nodes stack still plans to take down ${down.map((h) => h.host).join(", ")}, which this rollout did not plan`, `the stack changed since the rollout started: synthesise the config it started from, or run ${command} --restart`);
  await tf.apply(stack, [], "apply the nodes stack", command);
}

export function rolloutCommand(): Command {
  return new Command("rollout")
    .description("apply the nodes stack's plan (instance types, volume sizes, relay count) or a golden image one node at a time: relays while the others serve, the standby, promote, the old leader; health-gated, resumable")
    .option("--image <ami>", "also put this AMI on every relay and producer")
    .option("--stacks <dir>", "cdktf's output directory with the synthesised stacks (default cdktf.out)")
    .option("--promote-back", "promote the old leader back once it is changed")
    .option("--restart", "discard an unfinished rollout's journal of another target and start over")
    .option("--abandon", "drop an unfinished rollout's journal and change nothing (the pool stays as it left it)")
    .addOption(leaseWaitOption())
    .action(opsAction(async (ctx, options: RolloutOptions & LeaseOptions) => withPoolLease(ctx, "rollout", options, (lease) => rollout(ctx, options, lease))));
}
