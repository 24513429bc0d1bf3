/** `pool-ops keys …` wired to commander: options, output, and the exit codes of expected failures. */
import { Command, InvalidArgumentError, Option } from "commander";
import { isCardanoNetwork, type CardanoNetwork } from "../../../config/networks";
import { MemorySecretStore, SecretsManagerSecretStore, SecretStoreError, type SecretStore } from "../../aws/secret-store";
import { KeyMaterialError } from "../../cardano";
import { EXIT_LEASE_HELD } from "../../context";
import { LeaseHeldError } from "../../lease/lease-errors";
import { leaseWaitOption } from "../../lease/wait-option";
import { withLease } from "../../lease/with-lease";
import { OpsError } from "../../remote/result";
import { KeysCommandError } from "./errors";
import { generateKeySet } from "./generate";
import { importFilesIn, importKeys, type ImportFiles } from "./import";
import { issueOpcertFiles } from "./issue-opcert";
import { nodeKeysIo, type KeysIo } from "./key-files";
import { formatKeySummary, showFilesIn, showKeys, type ShowSource } from "./show";

export interface KeysCommandDeps {
  readonly io: KeysIo;
  readonly now: () => Date;
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly secretStore: (target: { region: string; endpoint?: string | undefined }) => SecretStore;
}

const defaultDeps: KeysCommandDeps = {
  io: nodeKeysIo,
  now: () => new Date(),
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
  secretStore: (target) => new SecretsManagerSecretStore(target),
};

function parseNetwork(value: string): CardanoNetwork {
  if (!isCardanoNetwork(value)) throw new InvalidArgumentError("expected one of mainnet, preprod, preview");
  return value;
}

function parseNonNegativeInt(value: string): number {
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value))) {
    throw new InvalidArgumentError("expected a non-negative integer");
  }
  return Number(value);
}

function networkOption(required: boolean): Option {
  const option = new Option("--network <network>", "Cardano network: mainnet, preprod or preview").argParser(parseNetwork);
  return required ? option.makeOptionMandatory() : option;
}

function isExpected(err: unknown): err is Error {
  return err instanceof KeyMaterialError || err instanceof KeysCommandError || err instanceof SecretStoreError || err instanceof OpsError;
}

function resolveRegion(region: string | undefined): string {
  const r = region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION;
  if (!r) throw new KeysCommandError("no AWS region: pass --region or set AWS_REGION");
  return r;
}

/** `pool-ops keys …`; attach with `program.addCommand(keysCommand())`. */
export function keysCommand(overrides: Partial<KeysCommandDeps> = {}): Command {
  const deps: KeysCommandDeps = { ...defaultDeps, ...overrides };
  const run =
    <A extends unknown[]>(fn: (...args: A) => Promise<void>) =>
    async (...args: A): Promise<void> => {
      try {
        await fn(...args);
      } catch (err) {
        if (!isExpected(err)) throw err;
        deps.stderr(err instanceof OpsError ? `error: ${err.step}: ${err.message}\n  remedy: ${err.remedy}\n` : `error: ${err.message}\n`);
        process.exitCode = err instanceof LeaseHeldError ? EXIT_LEASE_HELD : 1;
      }
    };
  const print = (json: boolean | undefined, value: unknown, human: string) =>
    deps.stdout(json ? `${JSON.stringify(value, null, 2)}\n` : human);

  const keys = new Command("keys").description("Pool key material: generate (test networks), issue op certs, import, show");

  keys
    .command("generate")
    .description("Generate a full key set for a test network (cold, VRF, KES keys, counter, op cert)")
    .addOption(networkOption(true))
    .requiredOption("--out <dir>", "directory to write the key set into (must not hold any of its files)")
    .option("--json", "machine-readable output")
    .action(
      run(async (opts: { network: CardanoNetwork; out: string; json?: boolean }) => {
        const result = await generateKeySet({ network: opts.network, outDir: opts.out }, deps);
        print(
          opts.json,
          result,
          `generated a ${result.network} key set in ${result.outDir}\n` +
            `pool id ${result.poolIdBech32}\nop cert counter 0 at KES period ${result.kesPeriod}\n` +
            result.files.map((f) => `  ${f}`).join("\n") +
            "\nsigning keys are mode 0600; import them with: pool-ops keys import --dir " +
            `${result.outDir} --pool NAME\n`,
        );
      }),
    );

  keys
    .command("issue-opcert")
    .description("Issue an operational certificate exactly as `cardano-cli node issue-op-cert` (advances the counter)")
    .requiredOption("--kes-vkey <file>", "KES verification key file")
    .requiredOption("--cold-skey <file>", "cold (stake pool) signing key file")
    .requiredOption("--counter-file <file>", "op cert issue counter file (advanced by one)")
    .requiredOption("--kes-period <n>", "KES period the certificate starts at", parseNonNegativeInt)
    .requiredOption("--out <file>", "op cert file to write")
    .addOption(networkOption(false))
    .option("--last-issued-counter <n>", "last counter seen on chain (the ledger accepts it or one more)", parseNonNegativeInt)
    .option("--json", "machine-readable output")
    .action(
      run(
        async (opts: {
          kesVkey: string;
          coldSkey: string;
          counterFile: string;
          kesPeriod: number;
          out: string;
          network?: CardanoNetwork;
          lastIssuedCounter?: number;
          json?: boolean;
        }) => {
          const result = await issueOpcertFiles(
            {
              kesVkeyFile: opts.kesVkey,
              coldSkeyFile: opts.coldSkey,
              counterFile: opts.counterFile,
              kesPeriod: opts.kesPeriod,
              outFile: opts.out,
              network: opts.network,
              lastIssuedCounter: opts.lastIssuedCounter,
            },
            deps,
          );
          print(
            opts.json,
            result,
            `wrote ${result.outFile}: counter ${result.counter}, KES period ${result.kesPeriod} (${result.poolId})\n` +
              `${result.counterFile}: next certificate issue number ${result.nextCounter}\n`,
          );
        },
      ),
    );

  keys
    .command("import")
    .description("Validate a key set and put it into the pool's cold and hot secrets in Secrets Manager")
    .option("--dir <dir>", "directory holding cold.skey, cold.counter, kes.skey, vrf.skey, node.cert")
    .option("--cold-skey <file>", "cold signing key (overrides --dir)")
    .option("--counter-file <file>", "op cert issue counter (overrides --dir)")
    .option("--kes-skey <file>", "KES signing key (overrides --dir)")
    .option("--vrf-skey <file>", "VRF signing key (overrides --dir)")
    .option("--opcert <file>", "operational certificate (overrides --dir)")
    .requiredOption("--pool <name>", "pool name (secret names are derived from it)")
    .option("--region <region>", "AWS region (default: AWS_REGION)")
    .option("--endpoint <url>", "AWS emulator endpoint on loopback (tests and the lab)")
    .addOption(networkOption(false))
    .option("--dry-run", "only validate and show what would be put")
    .option("--json", "machine-readable output")
    .addOption(leaseWaitOption())
    .action(
      run(
        async (opts: {
          dir?: string;
          coldSkey?: string;
          counterFile?: string;
          kesSkey?: string;
          vrfSkey?: string;
          opcert?: string;
          pool: string;
          region?: string;
          endpoint?: string;
          network?: CardanoNetwork;
          dryRun?: boolean;
          json?: boolean;
          wait?: number;
        }) => {
          const fromDir = opts.dir ? importFilesIn(opts.dir) : undefined;
          const pick = (flag: string | undefined, key: keyof ImportFiles, name: string): string => {
            const path = flag ?? fromDir?.[key];
            if (!path) throw new KeysCommandError(`no ${name}: pass --dir or --${name}`);
            return path;
          };
          const files: ImportFiles = {
            coldSigningKey: pick(opts.coldSkey, "coldSigningKey", "cold-skey"),
            opcertCounter: pick(opts.counterFile, "opcertCounter", "counter-file"),
            kesSigningKey: pick(opts.kesSkey, "kesSigningKey", "kes-skey"),
            vrfSigningKey: pick(opts.vrfSkey, "vrfSigningKey", "vrf-skey"),
            opcert: pick(opts.opcert, "opcert", "opcert"),
          };
          const dryRun = opts.dryRun === true;
          const region = dryRun ? undefined : resolveRegion(opts.region);
          const store = region === undefined ? new MemorySecretStore() : deps.secretStore({ region, endpoint: opts.endpoint });
          // The pool's lease (its table in the same region and endpoint as the secrets): no other operator changes the
          // pool while its keys are replaced. A dry run takes none.
          const lease = { target: { region: region ?? "", endpoint: opts.endpoint }, pool: opts.pool, command: "keys import", wait: opts.wait, dryRun, warn: (t: string) => deps.stderr(`${t}\n`) };
          const result = await importKeys({ files, pool: opts.pool, dryRun, network: opts.network }, { ...deps, store, holdLease: (puts) => withLease(lease, puts) });
          const human =
            `${dryRun ? "would put" : "put"} the key set of ${result.poolIdBech32} (op cert counter ` +
            `${result.opcertCounter}, KES period ${result.opcertKesPeriod}):\n` +
            result.entries
              .map((e) => `  ${e.tier.padEnd(4)} ${e.secretId.padEnd(40)} ← ${e.from}${e.versionId ? ` (version ${e.versionId})` : ""}`)
              .join("\n") +
            "\n" +
            result.warnings.map((w) => `warning: ${w}\n`).join("") +
            `${result.reminder}\n`;
          print(opts.json, result, human);
        },
      ),
    );

  keys
    .command("show")
    .description("Show pool id, keys, counter and op cert validity from files or from Secrets Manager (never a signing key)")
    .option("--dir <dir>", "read node.cert, cold.counter, cold.vkey, kes.vkey from this directory")
    .option("--pool <name>", "read the pool's op cert and counter secrets (when no --dir)")
    .option("--region <region>", "AWS region (default: AWS_REGION)")
    .option("--endpoint <url>", "AWS emulator endpoint on loopback (tests and the lab)")
    .addOption(networkOption(true))
    .option("--json", "machine-readable output")
    .action(
      run(
        async (opts: {
          dir?: string;
          pool?: string;
          region?: string;
          endpoint?: string;
          network: CardanoNetwork;
          json?: boolean;
        }) => {
          let source: ShowSource;
          if (opts.dir) source = showFilesIn(opts.dir);
          else if (opts.pool) {
            source = {
              kind: "secrets",
              pool: opts.pool,
              store: deps.secretStore({ region: resolveRegion(opts.region), endpoint: opts.endpoint }),
            };
          } else throw new KeysCommandError("nothing to show: pass --dir DIR or --pool NAME");
          const summary = await showKeys(source, opts.network, deps);
          print(opts.json, summary, formatKeySummary(summary));
        },
      ),
    );

  return keys;
}
