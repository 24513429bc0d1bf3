/**
 * Connecting to an instance whose SSH host keys are new: a replaced node, or a sandbox started after a bake (the bake
 * makes the image forget the instance, so cloud-init gives the sandbox new keys at its next boot, as at any first
 * boot). When the recorded key is refused, the console (EC2 GetConsoleOutput, an authenticated channel) is read until
 * the keys cloud-init printed there include the one the host offers — a console read early can still show the keys of
 * the boot before, the new boot's printed a little later — and only then do they replace the old entry.
 */
import type { AwsTarget } from "../aws/client-config";
import { consoleHostKeys, type ConsoleHostKey } from "../aws/console-host-keys";
import type { OpsContext } from "../context";
import type { Connection } from "../remote/connection";
import type { InventoryHost } from "../remote/inventory";
import { fingerprintOf } from "../remote/host-keys";
import { HostKeyRefused, OpsError } from "../remote/result";
import { connectWhenUp } from "../remote/wait-for-ssh";

export interface NewInstance {
  readonly host: InventoryHost;
  /** The instance whose console vouches for the keys. @default none known: a refused key is only reported */
  readonly instanceId: string | undefined;
  /** What messages call it, e.g. "relay-2 (replaced)". */
  readonly what: string;
  /** What to do once the keys are checked, for the remedy text. */
  readonly rerun: string;
}

export async function connectToNewInstance(ctx: OpsContext, target: AwsTarget, instance: NewInstance, timeoutMs: number): Promise<Connection> {
  const { host, instanceId, what } = instance;
  try {
    return await connectWhenUp(await ctx.fleet(), host, timeoutMs, what);
  } catch (error) {
    if (!(error instanceof HostKeyRefused) || (error.refusal !== "changed" && error.refusal !== "unknown")) throw error;
    const offered = (keys: readonly ConsoleHostKey[]) => keys.some((k) => fingerprintOf(k.key) === error.offeredFingerprint);
    const waitMs = Math.min(timeoutMs, 600_000);
    const keys = instanceId ? await consoleHostKeys(target, instanceId, waitMs, target.endpoint ? 200 : 10_000, offered) : [];
    if (keys.length === 0) {
      throw new OpsError(host.name, "host key", `${error.message}; the console output of ${instanceId ?? host.name} shows no host keys to check it against`, `${error.remedy}; then ${instance.rerun}`);
    }
    if (!offered(keys)) {
      throw new OpsError(host.name, "host key", `${error.message}; the console output of ${instanceId} shows host keys, but not the offered ${error.offeredFingerprint}, after ${Math.round(waitMs / 1000)} s: nothing was recorded`, `${error.remedy}; then ${instance.rerun}`);
    }
    const policy = await ctx.hostKeyPolicy();
    // With the identity the fleet checks (pool and instance): the old instance's line, bound to the same pool, goes.
    const inventory = await ctx.inventory();
    policy.replace({ name: host.name, address: host.privateIp, port: ctx.config.ssh.port, instanceId: instanceId ?? host.instanceId, pool: inventory.pool }, keys);
    ctx.out.info(`    ${host.name}: recorded its new host keys from ${instanceId}'s console output (${keys.map((k) => k.keyType).join(", ")})`);
    await ctx.resetFleet();
    return connectWhenUp(await ctx.fleet(), host, timeoutMs, what);
  }
}
