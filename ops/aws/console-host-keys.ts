/**
 * A new instance's SSH host keys as cloud-init prints them on the serial console, read through EC2's
 * GetConsoleOutput: an authenticated AWS channel, so keys found there may replace a replaced host's old entry
 * without trusting whatever answers on the network.
 */
import { awsClientSettings, type AwsTarget } from "./client-config";

export interface ConsoleHostKey {
  readonly keyType: string;
  readonly key: Buffer;
}

const BLOCK = /-----BEGIN SSH HOST KEY KEYS-----([\s\S]*?)-----END SSH HOST KEY KEYS-----/g;

/** The keys of the last host-key block in a console text (a rebooted instance prints one per boot). */
export function hostKeysFromConsole(text: string): ConsoleHostKey[] {
  const blocks = [...text.matchAll(BLOCK)];
  const last = blocks[blocks.length - 1]?.[1];
  if (!last) return [];
  const keys: ConsoleHostKey[] = [];
  for (const line of last.split(/\r?\n/)) {
    const [keyType, blob] = line.trim().split(/\s+/);
    if (!keyType || !blob || !/^(ssh-|ecdsa-)/.test(keyType) || !/^[A-Za-z0-9+/]+=*$/.test(blob)) continue;
    const key = Buffer.from(blob, "base64");
    // The blob names its own type first; a line whose two disagree is not a key.
    const named = key.length > 4 ? key.subarray(4, 4 + key.readUInt32BE(0)).toString("latin1") : "";
    if (named === keyType) keys.push({ keyType, key });
  }
  return keys;
}

/**
 * Polls the console until it shows host keys `wanted` accepts (by default: any) or the deadline passes; returns the
 * last keys it showed (none if it never showed any).
 */
export async function consoleHostKeys(target: AwsTarget, instanceId: string, timeoutMs: number, pollMs = 10_000, wanted: (keys: ConsoleHostKey[]) => boolean = (keys) => keys.length > 0): Promise<ConsoleHostKey[]> {
  const { EC2Client, GetConsoleOutputCommand } = await import("@aws-sdk/client-ec2");
  const ec2 = new EC2Client(awsClientSettings(target, "ec2"));
  const until = Date.now() + timeoutMs;
  try {
    for (;;) {
      const out = await ec2.send(new GetConsoleOutputCommand({ InstanceId: instanceId })).catch(() => undefined);
      const keys = out?.Output ? hostKeysFromConsole(Buffer.from(out.Output, "base64").toString("utf8")) : [];
      if (wanted(keys) || Date.now() + pollMs > until) return keys;
      await new Promise((r) => setTimeout(r, pollMs));
    }
  } finally {
    ec2.destroy();
  }
}
