/**
 * `pool-ops image rollout`: every relay and producer replaced by an instance of the golden image, one node at a time.
 *
 * Order (ops/image/rollout-plan.ts): relays one by one — a relay is replaced only while every other relay is
 * healthy, so at least N-1 serve — each gated on health (synced, peers) before the next; then the standby; then
 * `promote` (the old leader fenced first, so the leader role is missing only for a promotion); then the old leader;
 * optionally a promotion back; then the stacks that refer to instance ids are applied.
 *
 * A replacement is Terraform's: `terraform apply -replace=<instance>` in the synthesised nodes stack, which re-creates
 * the instance from its role's golden-AMI parameter and re-attaches its chain volume (the database survives), so the
 * state never drifts from the pool. Progress is journalled (POOL_OPS_STATE_DIR): an interrupted or failed rollout
 * resumes where it stopped, and a node already on the image is only health-checked.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { poolParameterNames, resourceName } from "../../config/names";
import { stacksInOrder, terraform, terraformEnv, type SynthesisedStack } from "../../tools/terraform";
import type { AwsTarget } from "../aws/client-config";
import { GoldenImageError, GoldenImages, type PoolInstanceState } from "../aws/golden-images";
import { LeaderParameter } from "../aws/leader-parameter";
import { EXIT_ABORTED, EXIT_OK, OpsContext, stateDir } from "../context";
import { connectToNewInstance } from "../image/connect-new-instance";
import { describeStep, rolloutSteps, type RolloutStep } from "../image/rollout-plan";
import { nodeHealth, waitHealthy } from "../pool/health";
import { forgingState } from "../pool/producer-role";
import { Interrupted, StepControl } from "../pool/step-control";
import { NO_LEASE, type LeaseGuard } from "../lease/lease-guard";
import type { Connection } from "../remote/connection";
import type { InventoryHost } from "../remote/inventory";
import { GroupResult, OpsError, type Result } from "../remote/result";
import { connectWhenUp } from "../remote/wait-for-ssh";
import { promote } from "./promote";

export interface RolloutOptions {
  /** AMI to roll out. @default the relay and producer golden-AMI parameters */
  readonly image?: string;
  /** cdktf's output directory (with manifest.json). @default "cdktf.out" */
  readonly stacks?: string;
  readonly promoteBack?: boolean;
  /** Drop an unfinished rollout's journal (of another image) and start over. */
  readonly restart?: boolean;
}

/** Public facts only: which steps are done, for which image. */
interface RolloutJournal {
  readonly pool: string;
  readonly images: Record<"relay" | "producer", string>;
  readonly leaderAtStart: string;
  readonly promoteBack: boolean;
  readonly startedAt: string;
  done: string[];
}

function journalPath(pool: string): string {
  return join(stateDir(), `rollout-${pool}.json`);
}
function saveJournal(journal: RolloutJournal): void {
  mkdirSync(stateDir(), { recursive: true, mode: 0o700 });
  writeFileSync(journalPath(journal.pool), `${JSON.stringify(journal, null, 2)}\n`, { mode: 0o600 });
}
function loadJournal(pool: string): RolloutJournal | undefined {
  const file = journalPath(pool);
  return existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as RolloutJournal) : undefined;
}

/** The Terraform address of each host's instance, found by its Name tag in the synthesised nodes stack. */
function instanceAddresses(stack: SynthesisedStack, pool: string): Map<string, string> {
  const json = JSON.parse(readFileSync(join(stack.directory, "cdk.tf.json"), "utf8")) as { resource?: { aws_instance?: Record<string, { tags?: Record<string, string> }> } };
  const byName = new Map<string, string>();
  for (const [key, instance] of Object.entries(json.resource?.aws_instance ?? {})) {
    const name = instance.tags?.Name;
    if (name?.startsWith(`${pool}-`)) byName.set(name.slice(pool.length + 1), `aws_instance.${key}`);
  }
  return byName;
}

class Terraform {
  constructor(
    private readonly env: NodeJS.ProcessEnv,
    private readonly out: OpsContext["out"],
  ) {}

  private async run(stack: SynthesisedStack, args: string[]): Promise<{ code: number | null; text: string }> {
    const r = await terraform(stack, [...args, "-input=false", "-no-color"], this.env);
    return { code: r.code, text: `${r.stdout}\n${r.stderr}` };
  }

  /** 0 clean, 2 changes pending (terraform plan -detailed-exitcode). */
  async planIsClean(stack: SynthesisedStack): Promise<boolean> {
    if (!existsSync(join(stack.directory, ".terraform"))) {
      const init = await this.run(stack, ["init"]);
      if (init.code !== 0) throw new OpsError("-", "preflight", `terraform init in ${stack.directory} failed:\n${tail(init.text)}`, "check the backend and credentials (cdktf deploy works from here?)");
    }
    const plan = await this.run(stack, ["plan", "-detailed-exitcode", "-lock-timeout=60s"]);
    if (plan.code === 0) return true;
    if (plan.code === 2) return false;
    throw new OpsError("-", "preflight", `terraform plan of the ${stack.name} stack failed:\n${tail(plan.text)}`, "fix what the plan reports, then run the rollout again");
  }

  async apply(stack: SynthesisedStack, extra: string[], what: string): Promise<void> {
    const r = await this.run(stack, ["apply", "-auto-approve", "-lock-timeout=60s", ...extra]);
    if (r.code !== 0) throw new OpsError("-", what, `terraform apply of the ${stack.name} stack failed:\n${tail(r.text)}`, "fix what Terraform reports, then run the rollout again: it resumes at this step");
    this.out.info(`    terraform: ${/Apply complete![^\n]*/.exec(r.text)?.[0] ?? "applied"}`);
  }
}

function tail(text: string, lines = 25): string {
  return text.trim().split("\n").slice(-lines).join("\n");
}

/** `lease`: the pool's lease the command holds (withPoolLease); every step, and the promotions it runs, check it. */
export async function rollout(ctx: OpsContext, options: RolloutOptions, lease: LeaseGuard = NO_LEASE): Promise<number> {
  const started = Date.now();
  const config = ctx.config;
  const inventory = await ctx.inventory();
  const pool = inventory.pool;
  const target = ctx.awsTarget;
  const relays = inventory.hosts.filter((h) => h.role === "relay");
  const producers = inventory.hosts.filter((h) => h.role === "producer");
  const hostByName = new Map(inventory.hosts.map((h) => [h.name, h]));
  const images = new GoldenImages(target);
  const leaderParameter = inventory.parameters.leader ? new LeaderParameter(target, inventory.parameters.leader, producers.map((p) => p.name)) : undefined;
  const control = new StepControl(lease);
  const results: Result[] = [];
  let journal: RolloutJournal | undefined;
  try {
    if (!leaderParameter) throw new OpsError("-", "preflight", "the inventory names no leader parameter", "use the nodes stack's inventory output");
    // ---- what to roll out, where things stand ---------------------------------------------------------------------
    const parameterOf = poolParameterNames(pool).goldenAmi;
    const recorded = { relay: await images.readParameter(parameterOf("relay")), producer: await images.readParameter(parameterOf("producer")) };
    const wanted = { relay: options.image ?? recorded.relay, producer: options.image ?? recorded.producer };
    // New instances start from the parameters: `--image` (a rollback to an earlier AMI, say) is recorded there first.
    const toRecord = (["relay", "producer"] as const).filter((role) => options.image && recorded[role] !== options.image);
    for (const [role, id] of Object.entries(wanted)) {
      if (!id) throw new OpsError("-", "preflight", `no golden image: ${parameterOf(role as "relay")} is not set`, "bake one first: pool-ops image bake --node-version X");
      await images.waitAvailable(id, 0).catch((error: Error) => {
        throw new OpsError("-", "preflight", `image ${id} (${role}) is not usable: ${error.message}`, "bake again, or give --image with an available AMI");
      });
    }
    const targetImages = wanted as Record<"relay" | "producer", string>;
    let existing = loadJournal(pool);
    if (existing && (existing.images.relay !== targetImages.relay || existing.images.producer !== targetImages.producer)) {
      if (!options.restart) {
        throw new OpsError("-", "preflight", `an unfinished rollout of ${existing.images.relay} (started ${existing.startedAt}) is journalled in ${journalPath(pool)}`, "finish it (run without --image), or start over with --restart");
      }
      existing = undefined;
    }
    const leader = await leaderParameter.read();
    journal = existing ?? { pool, images: targetImages, leaderAtStart: leader, promoteBack: Boolean(options.promoteBack), startedAt: new Date().toISOString(), done: [] };
    const steps = rolloutSteps({ relays: relays.map((r) => r.name), producers: producers.map((p) => p.name), leader: journal.leaderAtStart, promoteBack: journal.promoteBack });

    const outdir = resolve(options.stacks ?? "cdktf.out");
    let stacks: SynthesisedStack[];
    try {
      stacks = stacksInOrder(outdir);
    } catch (error) {
      throw new OpsError("-", "preflight", (error as Error).message, "run from the project directory after `cdktf deploy` (or give --stacks DIR)");
    }
    const nodesStack = stacks.find((s) => s.name === "nodes");
    if (!nodesStack) throw new OpsError("-", "preflight", `${outdir} has no nodes stack`, "synthesise the pool first (npm run synth / cdktf deploy)");
    const dependents = stacks.slice(stacks.indexOf(nodesStack) + 1);
    const addresses = instanceAddresses(nodesStack, pool);
    for (const step of steps) {
      if (step.kind === "replace" && !addresses.has(step.host)) throw new OpsError(step.host, "preflight", `no instance named ${resourceName(pool, step.host)} in ${nodesStack.directory}/cdk.tf.json`, "synthesise the same pool config the inventory came from");
    }
    const tf = new Terraform(terraformEnv(stateDir()), ctx.out);

    let instances = await images.poolInstances(pool);
    const onImage = (host: string, role: "relay" | "producer", now: Map<string, PoolInstanceState>) => now.get(resourceName(pool, host))?.imageId === targetImages[role];
    const pending = steps.filter((s) => !journal!.done.includes(s.id));
    const lines = steps.map((s) => {
      const state = journal!.done.includes(s.id) ? "done" : s.kind === "replace" && onImage(s.host, s.role, instances) ? "on the image: health check only" : "to do";
      return `  ${s.id.padEnd(22)} ${describeStep(s)} [${state}]`;
    });
    const recordNote = toRecord.length > 0 ? `; record it in ${toRecord.map((r) => `${parameterOf(r)} (now ${recorded[r] ?? "unset"})`).join(" and ")} first` : "";
    const heading = `roll out ${targetImages.relay}${targetImages.producer !== targetImages.relay ? ` (producers ${targetImages.producer})` : ""} to ${pool}, leader ${leader}${recordNote}${existing ? `; resuming: ${journal.done.length} of ${steps.length} steps done` : ""}`;

    // The stacks must have nothing else pending, so a replacement changes that instance and nothing more.
    if (!(await tf.planIsClean(nodesStack))) {
      throw new OpsError("-", "preflight", "the nodes stack has pending changes", "deploy them first (cdktf deploy nodes), so a rollout replaces instances and nothing else");
    }
    const everyNodeOnImage = steps.every((s) => s.kind !== "replace" || onImage(s.host, s.role, instances));
    if (!existing && everyNodeOnImage) {
      // Nothing to replace: a rerun after a finished rollout must not move the leader for nothing. An explicit
      // `--image` the nodes already run is still recorded, so instances made later start from it too.
      const names = toRecord.map((r) => parameterOf(r)).join(" and ");
      if (toRecord.length > 0 && !ctx.dryRun) {
        await ctx.confirm(`every node already runs ${options.image}: record it in ${names}?`);
        for (const role of toRecord) await images.writeParameter(parameterOf(role), options.image!);
      }
      const recordedNote = toRecord.length === 0 ? "" : ctx.dryRun ? `; dry run: would record it in ${names}` : `; recorded it in ${names}`;
      if (ctx.out.json) ctx.out.data({ images: targetImages, leader, steps: [], nothingToDo: true, recorded: ctx.dryRun ? [] : toRecord.map((r) => parameterOf(r)) });
      else ctx.out.info(`every relay and producer already runs ${targetImages.relay}: nothing to do (${leader} leads)${recordedNote}`);
      return EXIT_OK;
    }
    if (ctx.dryRun) {
      if (ctx.out.json) ctx.out.data({ dryRun: true, images: targetImages, leader, steps: steps.map((s) => ({ ...s, done: journal!.done.includes(s.id) })) });
      else ctx.out.info(`dry run: would ${heading}\n${lines.join("\n")}\nnothing changed`);
      return EXIT_OK;
    }
    if (!ctx.out.json) ctx.out.info(`${heading}\n${lines.join("\n")}`);
    if (pending.length === 0) {
      rmSync(journalPath(pool), { force: true });
      if (!ctx.out.json) ctx.out.info("nothing to do: every step is done");
      return EXIT_OK;
    }
    await ctx.confirm(`replace ${steps.filter((s) => s.kind === "replace").length} nodes one at a time with the new image?`);
    control.install();
    for (const role of toRecord) await images.writeParameter(parameterOf(role), options.image!);
    saveJournal(journal);

    const healthTimeoutMs = config.image.rolloutHealthTimeoutSeconds * 1000;
    for (const step of steps) {
      if (journal.done.includes(step.id)) continue;
      await control.checkpoint(step.id);
      const stepStarted = Date.now();
      if (!ctx.out.json) ctx.out.info(`${step.id}: ${describeStep(step)}`);
      if (step.kind === "replace") {
        const host = hostByName.get(step.host)!;
        instances = await images.poolInstances(pool);
        if (!onImage(step.host, step.role, instances)) {
          await guardBeforeReplacing(ctx, step, relays, host);
          const instance = instances.get(resourceName(pool, step.host));
          if (step.role === "producer" && instance) await images.allowTermination(instance.instanceId);
          await tf.apply(nodesStack, [`-replace=${addresses.get(step.host)}`], `replace ${step.host}`);
          await ctx.resetFleet();
        } else if (!ctx.out.json) ctx.out.info(`    ${step.host} already runs the image`);
        // The new instance in the inventory and its host keys learnt (from its console) before anything else, so an
        // operator, or the next command, reaches it even if the rollout stops here.
        const instance = (await images.poolInstances(pool)).get(resourceName(pool, host.name));
        if (instance && instance.instanceId !== host.instanceId) await ctx.recordReplacedInstance(host.name, instance.instanceId);
        const replaced = instance ? { ...host, instanceId: instance.instanceId } : host;
        const c = await connectToNewInstance(ctx, target, { host: replaced, instanceId: instance?.instanceId, what: `${host.name} (replaced)`, rerun: "run the rollout again" }, healthTimeoutMs);
        try {
          await control.checkpoint(`health:${step.host}`);
          const health = await waitHealthy(config, c, healthTimeoutMs);
          if (!health.healthy) {
            throw new OpsError(step.host, "health gate", `${step.host} is not healthy on the new image after ${config.image.rolloutHealthTimeoutSeconds} s: ${health.problem}; the rollout stopped before the next node`, "fix the node (its node log, chain volume), then run pool-ops image rollout again: it resumes here");
          }
          if (!ctx.out.json) ctx.out.info(`    ${step.host} healthy: slot ${health.slot} (lag ${health.lag}), ${health.peers} peers`);
        } finally {
          await c.close();
        }
      } else if (step.kind === "promote") {
        const now = await leaderParameter.read();
        const oldLeaderDone = step.to !== journal.leaderAtStart && onImage(journal.leaderAtStart, "producer", await images.poolInstances(pool));
        if (now === step.to) {
          if (!ctx.out.json) ctx.out.info(`    ${step.to} already leads`);
        } else if (oldLeaderDone) {
          if (!ctx.out.json) ctx.out.info(`    ${journal.leaderAtStart} already runs the image: no promotion needed`);
        } else {
          await ctx.resetFleet();
          const promoteCtx = new OpsContext({ ...ctx.options, yes: true, dryRun: false, json: ctx.out.json }, `${ctx.commandLine} (promote ${step.to})`);
          try {
            // Under the rollout's own lease: the promotion takes none of its own.
            const code = await promote(promoteCtx, {}, lease);
            if (code !== EXIT_OK) throw new OpsError(step.to, "promote", `promote to ${step.to} ended with exit ${code}`, "see above; run the rollout again to resume here");
          } finally {
            await promoteCtx.close();
          }
        }
      } else {
        for (const stack of dependents) await tf.apply(stack, [], `apply the ${stack.name} stack`);
      }
      journal.done.push(step.id);
      saveJournal(journal);
      results.push({ host: step.kind === "replace" ? step.host : step.kind === "promote" ? step.to : "-", status: "changed", exitCode: 0, stdout: "", stderr: "", durationMs: Date.now() - stepStarted, detail: { step: step.id } });
    }
    control.uninstall();
    rmSync(journalPath(pool), { force: true });
    await ctx.audit(new GroupResult(results, Date.now() - started), { images: targetImages, steps: steps.map((s) => s.id) });
    const finalLeader = await leaderParameter.read();
    if (ctx.out.json) ctx.out.data({ images: targetImages, steps: steps.map((s) => s.id), leader: finalLeader, durationMs: Date.now() - started });
    else ctx.out.info(`rollout complete: every relay and producer runs ${targetImages.relay}; ${finalLeader} leads (${((Date.now() - started) / 1000).toFixed(0)} s)`);
    return EXIT_OK;
  } catch (error) {
    control.uninstall();
    const where = journal ? `${journal.done.length} steps done, journalled in ${journalPath(pool)}: run pool-ops image rollout again to resume` : "nothing was changed";
    if (results.length > 0) await ctx.audit(new GroupResult(results, Date.now() - started), { stoppedAt: (error as Error).message });
    if (error instanceof Interrupted) {
      ctx.out.warn(`pool-ops: image rollout ${error.message}: ${where}`);
      return EXIT_ABORTED;
    }
    if (error instanceof GoldenImageError) throw new OpsError("-", "rollout", `${error.message}; ${where}`, "check the EC2 console and AWS credentials");
    if (error instanceof OpsError) throw new OpsError(error.host, error.step, `${error.message}; ${journal && journal.done.length + results.length > 0 ? where : "the pool is as it was"}`, error.remedy, error.status);
    throw error;
  } finally {
    images.close();
    leaderParameter?.close();
  }
}

/** A relay goes down only while every other relay serves; a producer only while it does not forge. */
async function guardBeforeReplacing(ctx: OpsContext, step: Extract<RolloutStep, { kind: "replace" }>, relays: readonly InventoryHost[], host: InventoryHost): Promise<void> {
  const fleet = await ctx.fleet();
  if (step.role === "relay") {
    const others = relays.filter((r) => r.name !== host.name);
    const health = await Promise.all(others.map(async (r) => ({ name: r.name, health: await nodeHealth(ctx.config, fleet.connection(r.name)) })));
    const down = health.filter((h) => !h.health.healthy);
    if (down.length > 0) {
      throw new OpsError(host.name, "relay guard", `replacing ${host.name} now would leave fewer than ${relays.length - 1} relays serving: ${down.map((d) => `${d.name} (${d.health.problem})`).join(", ")}`, "bring those relays back first, then run the rollout again");
    }
  } else {
    const forging = await forgingState(ctx.config, fleet.connection(host.name)).catch(() => undefined);
    if (forging === 1) throw new OpsError(host.name, "producer guard", `${host.name} forges: it is not replaced while it leads`, "promote the other producer first (the rollout does this in order; check pool-ops leader)");
  }
}
