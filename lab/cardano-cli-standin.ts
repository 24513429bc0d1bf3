/**
 * The lab's stand-in for cardano-cli (test tooling): what the pool calls, no more. `--version`, `--help`, and
 * `[latest|conway] query tip|protocol-state [--mainnet|--testnet-magic N] [--socket-path S] [--out-file F]` answered
 * by the node stand-in over its socket (lab/node-standin.ts), as the real cli asks the node over the local socket;
 * `CARDANO_NODE_SOCKET_PATH` as the real one. A node still starting answers nothing, like the real one.
 */
import { connect } from "node:net";
import { writeFileSync } from "node:fs";

function ask(socketPath: string, question: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let answer = "";
    const c = connect(socketPath, () => c.write(`${question}\n`));
    c.on("data", (d) => (answer += d.toString()));
    c.on("end", () => resolve(answer.trim()));
    c.on("error", (e) => reject(new Error(`cardano-cli: cannot connect to the node socket ${socketPath}: ${e.message}`)));
  });
}

export async function runCli(argv: string[], version: string): Promise<number> {
  if (argv[0] === "--version") {
    process.stdout.write(`cardano-cli ${version} - linux-x86_64 - ghc-9.6\ngit rev 0000000000000000000000000000000000000000\n`);
    return 0;
  }
  if (argv.length === 0 || argv[0] === "--help") {
    process.stdout.write("Usage: cardano-cli (lab stand-in: --version, query tip, query protocol-state)\n");
    return 0;
  }
  const args = ["latest", "conway"].includes(argv[0]!) ? argv.slice(1) : argv;
  if (args[0] !== "query" || !["tip", "protocol-state"].includes(args[1] ?? "")) {
    process.stderr.write(`cardano-cli (lab stand-in): not modelled: ${argv.join(" ")}\n`);
    return 1;
  }
  const option = (name: string) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  if (!args.includes("--mainnet") && option("--testnet-magic") === undefined) {
    process.stderr.write("Missing: (--mainnet | --testnet-magic NATURAL)\n");
    return 1;
  }
  const socket = option("--socket-path") ?? process.env.CARDANO_NODE_SOCKET_PATH;
  if (!socket) {
    process.stderr.write("Missing: --socket-path SOCKET_PATH (or CARDANO_NODE_SOCKET_PATH)\n");
    return 1;
  }
  const answer = JSON.parse(await ask(socket, args[1]!)) as Record<string, unknown>;
  if (answer.error) {
    process.stderr.write(`cardano-cli: ${String(answer.error)}\n`);
    return 1;
  }
  const text = `${JSON.stringify(answer, null, 4)}\n`;
  const out = option("--out-file");
  if (out) writeFileSync(out, text);
  else process.stdout.write(text);
  return 0;
}

if (process.env.POOL_LAB_CLI_MAIN === "1") {
  runCli(process.argv.slice(2), process.env.POOL_LAB_CLI_VERSION ?? "11.1.0.0").then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`${(error as Error).message}\n`);
      process.exit(1);
    },
  );
}
