/**
 * `promote --new-opcert`: the promoted producer gets a cert for its current KES key with the next counter, so its
 * blocks win a same-slot tie against anything made with the older cert. Safe only when the chain's last counter m is
 * known (n = m + 1 is always accepted; c + 1 without knowing m may be m + 2, refused by the chain): it needs
 * `kes.onChainCounterCommand`. The cold key is read into memory and wiped, as in rotate-kes.
 */
import { credentialOwnership, hostLayout } from "../../config/host-layout";
import type { PoolConfig } from "../../config/schema";
import type { SecretStore } from "../aws/secret-store";
import {
  coldVerificationKey,
  equalBytes,
  issueOperationalCertificate,
  readColdSigningKey,
  readOpcertCounter,
  readVerifiedOperationalCertificate,
  wipe,
  writeOperationalCertificate,
  writeOpcertCounter,
} from "../cardano";
import type { Connection } from "../remote/connection";
import { OpsError } from "../remote/result";
import { chooseCounter, queryOnChainCounter } from "./kes-counter";

export interface ReissueResult {
  readonly counter: number;
  readonly previous: number;
  readonly certText: string;
}

export async function reissueOpcert(
  config: PoolConfig,
  target: Connection,
  store: SecretStore,
  ids: { coldSigningKey: string; opcertCounter: string; opcert: string },
): Promise<ReissueResult> {
  if (!config.kes.onChainCounterCommand) {
    throw new OpsError(target.name, "new op cert", "--new-opcert needs the chain's last counter, and kes.onChainCounterCommand is not set", "set kes.onChainCounterCommand, or promote without --new-opcert");
  }
  const layout = hostLayout(config);
  const certText = await target.readText(layout.heldCredentials.opcert);
  if (!certText) throw new OpsError(target.name, "new op cert", `${layout.heldCredentials.opcert} is missing`, "the standby must hold its credentials");
  const counterText = (await store.get(ids.opcertCounter)).value;
  const coldVk = readOpcertCounter(counterText, "op cert counter secret").coldVerificationKey;
  const current = readVerifiedOperationalCertificate(certText, `${target.name} op cert`, coldVk);
  // The standby is synced and running (promote's preflight checked): the query runs there, never on the fenced host.
  const choice = chooseCounter({ current: current.counter, onChain: await queryOnChainCounter(config, target) });
  let coldSk: Uint8Array | undefined;
  try {
    coldSk = readColdSigningKey((await store.get(ids.coldSigningKey)).value, "cold signing key secret");
    if (!equalBytes(coldVerificationKey(coldSk), coldVk)) throw new OpsError("-", "new op cert", "the cold key secret does not belong to the counter secret's pool", "re-import the key set");
    const cert = issueOperationalCertificate({ kesVerificationKey: current.kesVerificationKey, coldSigningKey: coldSk, counter: choice.counter, kesPeriod: current.kesPeriod });
    const text = writeOperationalCertificate(cert);
    await target.put(layout.heldCredentials.opcert, text, { ...credentialOwnership(config, "opcert"), backup: true, step: "write the new op cert" });
    await store.put(ids.opcert, text);
    await store.put(ids.opcertCounter, writeOpcertCounter({ next: choice.counter + 1, coldVerificationKey: coldVk }));
    return { counter: choice.counter, previous: current.counter, certText: text };
  } finally {
    wipe(coldSk);
  }
}
