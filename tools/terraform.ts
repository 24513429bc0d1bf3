/**
 * Running Terraform on the synthesised stacks: the CLI config (an offline provider mirror when this machine has one),
 * the stack order from cdktf's manifest, and a small spawn wrapper. Used by `npm run plan` and the emulator tests.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";

/** Where this kind of machine keeps the hashicorp/aws provider (a normal machine downloads it instead). */
export const PROVIDER_MIRROR = "/opt/tf-plugins";

/**
 * The environment Terraform should run with. With a local mirror, a CLI config that installs providers only from it
 * (no registry access); otherwise the user's own CLI config, dropped if it names a file that does not exist.
 */
export function terraformEnv(workDir: string, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...base, CHECKPOINT_DISABLE: "1", TF_IN_AUTOMATION: "1", TF_INPUT: "0" };
  if (existsSync(PROVIDER_MIRROR)) {
    mkdirSync(workDir, { recursive: true });
    const file = join(workDir, "terraform-mirror.tfrc");
    writeFileSync(file, mirrorCliConfig(PROVIDER_MIRROR));
    env.TF_CLI_CONFIG_FILE = file;
  } else if (env.TF_CLI_CONFIG_FILE && !existsSync(env.TF_CLI_CONFIG_FILE)) {
    delete env.TF_CLI_CONFIG_FILE;
  }
  return env;
}

export function mirrorCliConfig(mirror: string): string {
  return `provider_installation {
  filesystem_mirror {
    path    = "${mirror}"
    include = ["registry.terraform.io/*/*"]
  }
  direct {
    exclude = ["registry.terraform.io/*/*"]
  }
}
`;
}

interface Manifest {
  stacks: Record<string, { name: string; workingDirectory: string; dependencies: string[] }>;
}

export interface SynthesisedStack {
  readonly name: string;
  /** Absolute path of the stack's Terraform working directory. */
  readonly directory: string;
}

/** Stacks in dependency order (apply order), read from cdktf's manifest. */
export function stacksInOrder(outdir: string): SynthesisedStack[] {
  const manifestPath = join(outdir, "manifest.json");
  if (!existsSync(manifestPath)) throw new Error(`${manifestPath} not found: synthesise first (npm run synth)`);
  const manifest = JSON.parse(readFileSync(manifestPath, "utf8")) as Manifest;
  const ordered: SynthesisedStack[] = [];
  const visiting = new Set<string>();
  const visit = (name: string) => {
    if (ordered.some((s) => s.name === name)) return;
    if (visiting.has(name)) throw new Error(`stack dependency cycle through ${name}`);
    visiting.add(name);
    const stack = manifest.stacks[name];
    if (!stack) throw new Error(`manifest names an unknown stack ${name}`);
    for (const dependency of stack.dependencies) visit(dependency);
    ordered.push({ name, directory: resolve(outdir, stack.workingDirectory) });
  };
  for (const name of Object.keys(manifest.stacks)) visit(name);
  return ordered;
}

export interface CommandResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command, streaming its output when `echo` is set, and resolves with its exit code and output. */
export function runCommand(
  command: string,
  args: readonly string[],
  options: { cwd: string; env: NodeJS.ProcessEnv; echo?: boolean },
): Promise<CommandResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk;
      if (options.echo) process.stdout.write(chunk);
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk;
      if (options.echo) process.stderr.write(chunk);
    });
    child.on("error", reject);
    child.on("close", (code) => resolvePromise({ code, stdout, stderr }));
  });
}

export function terraform(stack: SynthesisedStack, args: readonly string[], env: NodeJS.ProcessEnv, echo = false): Promise<CommandResult> {
  return runCommand("terraform", args, { cwd: stack.directory, env, echo });
}
