/**
 * `hosts trust` confirms a host key it is about to record against the instance's EC2 console output: cloud-init
 * prints the instance's host keys there at first boot (console-host-keys.ts), and GetConsoleOutput is an
 * authenticated AWS call, so a key found there is the instance's own, not whatever answered on the network.
 *
 * Three outcomes: confirmed (the offered key is in the block), contradicted (the block lists other keys: refuse), or
 * unavailable (no credentials, no route, no key block in the output — e.g. it scrolled past the 64 KB EC2 keeps): say
 * so and let the operator decide, as a plain trust-on-first-use would.
 */
import { fingerprintOf } from "../remote/known-hosts";
import { awsClientSettings, type AwsTarget } from "./client-config";
import { hostKeysFromConsole } from "./console-host-keys";

export type ConsoleKeyCheck =
  | { readonly kind: "confirmed" }
  | { readonly kind: "contradicted"; readonly shown: readonly string[] }
  | { readonly kind: "unavailable"; readonly reason: string };

/** Bound for one GetConsoleOutput (credential lookup included): a host's trust must not wait on an unreachable AWS. */
export const CONSOLE_CHECK_TIMEOUT_MS = 15_000;

/** Compares an offered key with the console text's key block (pure). */
export function compareWithConsole(offered: Buffer, consoleText: string | undefined, instanceId: string): ConsoleKeyCheck {
  const keys = consoleText ? hostKeysFromConsole(consoleText) : [];
  if (keys.length === 0) return { kind: "unavailable", reason: `the console output of ${instanceId} shows no host key block` };
  if (keys.some((k) => k.key.equals(offered))) return { kind: "confirmed" };
  return { kind: "contradicted", shown: keys.map((k) => `${k.keyType} ${fingerprintOf(k.key)}`) };
}

/** Asks EC2 for the instance's console output once and compares. Never throws: failures are `unavailable`. */
export async function checkKeyAgainstConsole(target: AwsTarget, instanceId: string, offered: Buffer, timeoutMs = CONSOLE_CHECK_TIMEOUT_MS): Promise<ConsoleKeyCheck> {
  let ec2: { destroy(): void } | undefined;
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), timeoutMs);
  try {
    const { EC2Client, GetConsoleOutputCommand } = await import("@aws-sdk/client-ec2");
    const client = new EC2Client(awsClientSettings(target, "ec2"));
    ec2 = client;
    const out = await client.send(new GetConsoleOutputCommand({ InstanceId: instanceId }), { abortSignal: abort.signal });
    return compareWithConsole(offered, out.Output ? Buffer.from(out.Output, "base64").toString("utf8") : undefined, instanceId);
  } catch (error) {
    const reason = abort.signal.aborted ? `no answer from EC2 within ${timeoutMs / 1000} s` : (error as Error).message;
    return { kind: "unavailable", reason: `EC2 GetConsoleOutput for ${instanceId} failed: ${reason}` };
  } finally {
    clearTimeout(timer);
    ec2?.destroy();
  }
}
