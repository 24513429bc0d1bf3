/**
 * `promote --new-opcert`: the promoted producer gets a cert for its current KES key with the next counter, so its
 * blocks win a same-slot tie against anything made with the older cert. Safe only when the chain's last counter m is
 * known (n = m + 1 is always accepted; c + 1 without knowing m may be m + 2, refused by the chain): it needs
 * `kes.onChainCounterCommand`. The cold key is read and used by the signer child only (ops/cold-signer), as in
 * rotate-kes: never by this process.
 */
import { credentialOwnership, hostLayout } from "../../config/host-layout";
import type { PoolConfig } from "../../config/schema";
import { putHotPair } from "../aws/hot-pair-secrets";
import type { SecretsManagerSecretStore } from "../aws/secret-store";
import { readOpcertCounter, readVerifiedOperationalCertificate, writeOperationalCertificate, writeOpcertCounter } from "../cardano";
import { issueOpcertWithColdKeySecret } from "../cold-signer/issue-opcert";
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
  store: SecretsManagerSecretStore,
  ids: { coldSigningKey: string; opcertCounter: string; opcert: string; kesSigningKey: string },
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
  const cert = await issueOpcertWithColdKeySecret(store.target, { secretId: ids.coldSigningKey, coldVerificationKey: coldVk, kesVerificationKey: current.kesVerificationKey, counter: choice.counter, kesPeriod: current.kesPeriod });
  const text = writeOperationalCertificate(cert);
  await target.put(layout.heldCredentials.opcert, text, { ...credentialOwnership(config, "opcert"), backup: true, step: "write the new op cert" });
  // The KES key is unchanged, but the pair is written as one unit (one version id) so the boot path's pairing holds.
  await putHotPair(store, ids, (await store.get(ids.kesSigningKey)).value, text);
  await store.put(ids.opcertCounter, writeOpcertCounter({ next: choice.counter + 1, coldVerificationKey: coldVk }));
  return { counter: choice.counter, previous: current.counter, certText: text };
}
