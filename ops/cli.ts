/**
 * pool-ops: commander wiring only. Global options are declared here; each command lives in ops/commands/<name>.ts as
 * a function returning a commander Command whose action is wrapped in `opsAction` (ops/context.ts).
 *
 * To add a command: write ops/commands/<name>.ts exporting `<name>Command(): Command`, and add it to COMMANDS below.
 */
import { Command, InvalidArgumentError, Option } from "commander";
import { pathToFileURL } from "node:url";
import { agentCommand } from "./commands/agent";
import { hostsCommand } from "./commands/hosts";
import { imageCommand } from "./commands/image";
import { rolloutCommand } from "./commands/rollout";
import { kesCommand } from "./commands/kes";
import { keysCommand } from "./commands/keys";
import { inventoryCommand } from "./commands/inventory";
import { pingCommand } from "./commands/ping";
import { lockCommand } from "./commands/lock";
import { leaderCommand, promoteCommand } from "./commands/promote";
import { pushConfigCommand } from "./commands/push-config";
import { putCommand } from "./commands/put";
import { statusCommand } from "./commands/status";
import { rotateKesCommand } from "./commands/rotate-kes";
import { runCommand } from "./commands/run";
import { AwsEndpointError, checkEmulatorEndpoint, checkPrivateEndpoint } from "./aws/client-config";
import { EXIT_USAGE } from "./context";

/** Every command of pool-ops, in help order. */
export const COMMANDS: ReadonlyArray<() => Command> = [pingCommand, runCommand, putCommand, inventoryCommand, hostsCommand, () => keysCommand(), rotateKesCommand, kesCommand, promoteCommand, leaderCommand, pushConfigCommand, statusCommand, imageCommand, rolloutCommand, lockCommand, agentCommand];

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError("expected a positive integer");
  return n;
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/**
 * Every endpoint override on the command line (`--aws-endpoint`, a command's own `--endpoint` such as `keys import`'s,
 * `--aws-private-endpoint`) is checked before any action runs: a refused one exits 2 and no request is ever made.
 */
function refuseForeignEndpoints(root: Command, action: Command): void {
  const checks: Array<() => void> = [];
  for (let command: Command | null = action; command; command = command.parent) {
    const opts = command.opts() as { awsEndpoint?: string; endpoint?: string; awsPrivateEndpoint?: string[] };
    const name = command === root ? "" : `${command.name()} `;
    if (typeof opts.awsEndpoint === "string") checks.push(() => checkEmulatorEndpoint(opts.awsEndpoint!, "--aws-endpoint"));
    if (typeof opts.endpoint === "string") checks.push(() => checkEmulatorEndpoint(opts.endpoint!, `${name}--endpoint`));
    for (const value of opts.awsPrivateEndpoint ?? []) checks.push(() => checkPrivateEndpoint(value, undefined));
  }
  for (const check of checks) {
    try {
      check();
    } catch (error) {
      if (!(error instanceof AwsEndpointError)) throw error;
      root.error(`pool-ops: ${error.message}\n  nothing was sent anywhere`, { exitCode: EXIT_USAGE, code: "pool-ops.endpoint" });
    }
  }
}

/** The program with its global options and every command attached (`extra` lets tests and plugins add more). */
export function buildProgram(extra: ReadonlyArray<Command> = []): Command {
  const program = new Command("pool-ops")
    .description("operate a Cardano stake pool's hosts over SSH, through the bastion")
    .option("-c, --config <file>", "pool config (default: $POOL_CONFIG, else the embedded default pool)")
    .addOption(new Option("-i, --inventory <file>", "inventory: `terraform output -json` or `cdktf output --outputs-file` (default: $POOL_OPS_INVENTORY)").conflicts("fromAws"))
    .option("--from-aws", "build the inventory from EC2 tags (Pool, Role, Name) instead of a file")
    .option("--aws-endpoint <url>", "AWS emulator endpoint for tests: loopback only (http://127.0.0.1:PORT); anything else is refused")
    .option("--aws-private-endpoint <url>", "send one service's AWS calls to this VPC interface endpoint: https://vpce-….<service>.<region>.vpce.amazonaws.com (repeatable, one per service)", collect)
    .option("-H, --hosts <names>", "only these hosts (comma-separated, repeatable)", collect)
    .option("-R, --role <roles>", "only hosts of these roles: relay, producer, bastion, monitoring (comma-separated, repeatable)", collect)
    .option("-n, --dry-run", "show what would change; change nothing")
    .option("-y, --yes", "do not ask for confirmation")
    .option("--json", "print machine-readable results only")
    .option("--concurrency <n>", "hosts worked on at once (default 10)", positiveInt)
    .option("--known-hosts <file>", "known_hosts file (default: $POOL_OPS_KNOWN_HOSTS, else ~/.ssh/known_hosts)")
    .option("--identity <file>", "SSH private key (default: $POOL_OPS_IDENTITY, else ~/.ssh/id_ed25519, id_ecdsa, id_rsa)")
    .option("-u, --user <name>", "login user (default: the pool config's ssh.user)")
    .option("--no-agent", "connect directly even when a pool-ops agent is running (see `pool-ops agent`)")
    .option("--audit-log <file>", "audit log file (default: $POOL_OPS_AUDIT_LOG, else ~/.pool-ops/audit.log)")
    .option("--audit-log-group <name>", "also send audit lines to this CloudWatch Logs group (default: $POOL_OPS_AUDIT_LOG_GROUP)")
    .showHelpAfterError("(pool-ops --help for usage)")
    .enablePositionalOptions(false);
  for (const make of COMMANDS) program.addCommand(make());
  for (const command of extra) program.addCommand(command);
  // Global options are recognised anywhere on the line, so the program consumes them even after a subcommand. A
  // command that declares the same option itself (e.g. keys' own --json) gets the value handed down.
  program.hook("preAction", (root, action) => {
    refuseForeignEndpoints(root, action);
    const globals = root.opts();
    for (const option of action.options) {
      const key = option.attributeName();
      if (action !== root && globals[key] !== undefined && action.getOptionValueSource(key) !== "cli") action.setOptionValue(key, globals[key]);
    }
  });
  program.exitOverride((error) => {
    process.exit(error.exitCode === 0 ? 0 : EXIT_USAGE);
  });
  return program;
}

export async function main(argv: readonly string[] = process.argv): Promise<void> {
  // `pool-ops … | head` closes our stdout early: the command still finishes on every host and writes its audit line.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on("error", (error: NodeJS.ErrnoException) => {
      if (error.code !== "EPIPE") throw error;
    });
  }
  await buildProgram().parseAsync([...argv]);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href || process.env.POOL_OPS_MAIN === "1") {
  await main();
}
