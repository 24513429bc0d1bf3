/**
 * What the doctor looks at, behind one interface so tests can describe a machine: the environment, the home
 * directory, the user, the running Node, commands it can run, and the project's own facts (where it lives, the
 * hashicorp/aws version its provider bindings need, its portable Node). Files named by the environment or under the
 * home directory are read from the real file system at those paths (tests point them at temporary directories).
 */
import { spawnSync } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { homedir } from "node:os";
import { fileURLToPath } from "node:url";
import { App, TerraformStack } from "cdktf";
import { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import { PROVIDER_MIRROR } from "../terraform";
import { projectPortableNode, type PortableNode } from "../runtime";

export interface CommandOutput {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface Machine {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly home: string;
  /** The effective user id; undefined on platforms without one. */
  readonly uid: number | undefined;
  /** The Node running the doctor (through npm run, the one npm scripts get). */
  readonly node: { readonly version: string; readonly execPath: string };
  readonly platform: NodeJS.Platform;
  readonly arch: string;
  /** Runs a command (no shell) with a short deadline; undefined when it is not installed. */
  run(command: string, args: readonly string[]): CommandOutput | undefined;
  isExecutable(path: string): boolean;
  now(): Date;
}

export interface Project {
  readonly root: string;
  /** The hashicorp/aws provider version the synthesised stacks require (what @cdktf/provider-aws was built for). */
  readonly awsProviderVersion: string;
  /** Terraform's provider mirror on this kind of machine (tools/terraform.ts uses only it when it exists). */
  readonly providerMirror: string;
  /** The portable Node under node_modules; throws naming what is missing. */
  portableNode(): PortableNode;
  /** Loads node-pty, the native terminal library `cdktf deploy` runs terraform under; throws when it cannot. */
  loadCdktfPty(): void;
}

/** Long enough for `python3 -c "import moto"`, short enough that a hung command does not hang the doctor. */
const COMMAND_DEADLINE_MS = 20_000;

export function localMachine(): Machine {
  return {
    env: process.env,
    home: homedir(),
    uid: typeof process.geteuid === "function" ? process.geteuid() : undefined,
    node: { version: process.version, execPath: process.execPath },
    platform: process.platform,
    arch: process.arch,
    run(command, args) {
      // CHECKPOINT_DISABLE: `terraform version` would otherwise ask HashiCorp's server about newer releases.
      const result = spawnSync(command, [...args], { encoding: "utf8", timeout: COMMAND_DEADLINE_MS, env: { ...process.env, CHECKPOINT_DISABLE: "1" } });
      if ((result.error as NodeJS.ErrnoException | undefined)?.code === "ENOENT") return undefined;
      return { status: result.status, stdout: result.stdout ?? "", stderr: result.stderr ?? String(result.error ?? "") };
    },
    isExecutable(path) {
      try {
        accessSync(path, constants.X_OK);
        return true;
      } catch {
        return false;
      }
    },
    now: () => new Date(),
  };
}

/** The provider version cdktf writes into every stack's required_providers, read from the bindings themselves. */
function generatedAwsProviderVersion(): string {
  const provider = new AwsProvider(new TerraformStack(new App({ skipValidation: true }), "doctor"), "aws", { region: "us-east-1" });
  const version = provider.terraformGeneratorMetadata?.providerVersion;
  if (!version) throw new Error("@cdktf/provider-aws does not say which hashicorp/aws version it was generated for");
  return version;
}

export function localProject(): Project {
  const root = fileURLToPath(new URL("../..", import.meta.url));
  return {
    root,
    awsProviderVersion: generatedAwsProviderVersion(),
    providerMirror: PROVIDER_MIRROR,
    portableNode: projectPortableNode,
    // Resolved as cdktf-cli's core resolves it.
    loadCdktfPty: () => void createRequire(join(root, "node_modules", "@cdktf", "cli-core", "package.json"))("@cdktf/node-pty-prebuilt-multiarch"),
  };
}
