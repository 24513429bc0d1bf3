/** `pool-ops keys generate`: a full key set for a test network, as cardano-cli would leave it. */
import { join } from "node:path";
import { isCardanoNetwork, type CardanoNetwork } from "../../../config/networks";
import {
  generateColdKey,
  generateKesKey,
  generateVrfKey,
  issueOperationalCertificate,
  kesPeriodAt,
  poolIdBech32,
  poolIdHex,
  wipe,
  writeColdSigningKey,
  writeColdVerificationKey,
  writeKesSigningKey,
  writeKesVerificationKey,
  writeOperationalCertificate,
  writeOpcertCounter,
  writeVrfSigningKey,
  writeVrfVerificationKey,
} from "../../cardano";
import { KeysCommandError } from "./errors";
import { KEY_FILE_NAMES, PUBLIC_FILE_MODE, SIGNING_KEY_MODE, type KeysIo } from "./key-files";

export interface GenerateOptions {
  readonly network: CardanoNetwork;
  readonly outDir: string;
}

export interface GenerateResult {
  readonly network: CardanoNetwork;
  readonly outDir: string;
  readonly files: readonly string[];
  readonly poolId: string;
  readonly poolIdBech32: string;
  readonly kesPeriod: number;
  readonly opcertCounter: number;
}

/**
 * A full key set for a test network, as cardano-cli would leave it after `node key-gen`, `node key-gen-VRF`,
 * `node key-gen-KES` and `node issue-op-cert` at the current KES period (cert counter 0, counter file at 1).
 * Refuses mainnet, and refuses to overwrite any existing file.
 */
export async function generateKeySet(
  options: GenerateOptions,
  deps: { io: KeysIo; now: () => Date },
): Promise<GenerateResult> {
  const { network, outDir } = options;
  if ((network as string) === "mainnet") {
    throw new KeysCommandError(
      "keys generate makes keys for test networks only (preprod, preview). For mainnet, make the cold key on an " +
        "offline machine with cardano-cli and bring the key set in with `pool-ops keys import`.",
    );
  }
  if (!isCardanoNetwork(network)) throw new KeysCommandError(`unknown network ${network}`);
  const paths = Object.fromEntries(
    Object.entries(KEY_FILE_NAMES).map(([k, name]) => [k, join(outDir, name)]),
  ) as Record<keyof typeof KEY_FILE_NAMES, string>;
  const existing: string[] = [];
  for (const path of Object.values(paths)) if (await deps.io.exists(path)) existing.push(path);
  if (existing.length > 0) {
    throw new KeysCommandError(
      `refusing to overwrite existing key files: ${existing.join(", ")} (choose an empty --out directory)`,
    );
  }

  const now = deps.now();
  const kesPeriod = kesPeriodAt(now, network);
  const cold = generateColdKey();
  const vrf = generateVrfKey();
  const kes = generateKesKey();
  try {
    const cert = issueOperationalCertificate({
      kesVerificationKey: kes.verificationKey,
      coldSigningKey: cold.signingKey,
      counter: 0,
      kesPeriod,
    });
    const files: [string, string, number][] = [
      [paths.coldSigningKey, writeColdSigningKey(cold.signingKey), SIGNING_KEY_MODE],
      [paths.coldVerificationKey, writeColdVerificationKey(cold.verificationKey), PUBLIC_FILE_MODE],
      [paths.opcertCounter, writeOpcertCounter({ next: 1, coldVerificationKey: cold.verificationKey }), PUBLIC_FILE_MODE],
      [paths.vrfSigningKey, writeVrfSigningKey(vrf.signingKey), SIGNING_KEY_MODE],
      [paths.vrfVerificationKey, writeVrfVerificationKey(vrf.verificationKey), PUBLIC_FILE_MODE],
      [paths.kesSigningKey, writeKesSigningKey(kes.signingKey), SIGNING_KEY_MODE],
      [paths.kesVerificationKey, writeKesVerificationKey(kes.verificationKey), PUBLIC_FILE_MODE],
      [paths.opcert, writeOperationalCertificate(cert), PUBLIC_FILE_MODE],
    ];
    await deps.io.mkdirp(outDir, 0o700);
    for (const [path, text, mode] of files) await deps.io.writeNew(path, text, mode);
    return {
      network,
      outDir,
      files: files.map(([p]) => p),
      poolId: poolIdHex(cold.verificationKey),
      poolIdBech32: poolIdBech32(cold.verificationKey),
      kesPeriod,
      opcertCounter: 0,
    };
  } finally {
    wipe(cold.signingKey, vrf.signingKey, kes.signingKey);
  }
}
