/**
 * Which AWS calls the code makes, read from the code itself: every AWS SDK v3 `…Command` class used in a source file
 * that imports an `@aws-sdk/client-*` package, mapped to its IAM action (`<service prefix>:<operation>`). A new call
 * shows up here without anyone writing it down, so the IAM evaluation fails until the call has a row and a
 * permission.
 *
 * The boot scripts' AWS CLI calls (`aws <service> <operation>`) are read the same way.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { PROJECT_ROOT } from "../support";

/** The IAM service prefix of each SDK client the project uses. A client missing here fails the scan, naming it. */
export const IAM_PREFIX_OF_CLIENT: Readonly<Record<string, string>> = {
  "client-ec2": "ec2",
  "client-ssm": "ssm",
  "client-secrets-manager": "secretsmanager",
  "client-cloudwatch-logs": "logs",
  "client-service-quotas": "servicequotas",
  "client-dynamodb": "dynamodb",
};

/** The IAM service prefix of each AWS CLI service name the boot scripts use. */
export const IAM_PREFIX_OF_CLI_SERVICE: Readonly<Record<string, string>> = {
  ssm: "ssm",
  secretsmanager: "secretsmanager",
  sns: "sns",
  ec2: "ec2",
};

export interface CodeCall {
  /** `ec2:CreateImage`. */
  readonly action: string;
  /** Repository-relative files that make the call. */
  readonly files: readonly string[];
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith(".ts") && !entry.name.endsWith(".test.ts") ? [path] : [];
  });
}

function merge(calls: Map<string, Set<string>>): CodeCall[] {
  return [...calls].map(([action, files]) => ({ action, files: [...files].sort() })).sort((a, b) => a.action.localeCompare(b.action));
}

/** SDK calls of the TypeScript under `folders` (repository-relative), test files excluded. */
export function sdkCallsIn(...folders: string[]): CodeCall[] {
  const calls = new Map<string, Set<string>>();
  for (const folder of folders) {
    for (const file of sourceFiles(join(PROJECT_ROOT, folder))) {
      const text = readFileSync(file, "utf8");
      const clients = [...new Set([...text.matchAll(/["']@aws-sdk\/(client-[a-z0-9-]+)["']/g)].map((m) => m[1]!))];
      if (clients.length === 0) continue;
      const where = relative(PROJECT_ROOT, file);
      for (const [, operation] of text.matchAll(/\b([A-Z][A-Za-z0-9]*)Command\b/g)) {
        const client = clients.find((c) => existsSync(join(PROJECT_ROOT, "node_modules", "@aws-sdk", c, "dist-types", "commands", `${operation}Command.d.ts`)));
        if (!client) throw new Error(`${where}: ${operation}Command is not a command of ${clients.join(", ")}`);
        const prefix = IAM_PREFIX_OF_CLIENT[client];
        if (!prefix) throw new Error(`${where} uses @aws-sdk/${client}: add its IAM service prefix to IAM_PREFIX_OF_CLIENT (test/iam/sdk-calls.ts)`);
        const action = `${prefix}:${operation}`;
        calls.set(action, (calls.get(action) ?? new Set()).add(where));
      }
    }
  }
  return merge(calls);
}

const pascal = (kebab: string) => kebab.split("-").map((w) => w.charAt(0).toUpperCase() + w.slice(1)).join("");

/** AWS CLI calls (`aws [--region …] <service> <operation>`) of shell scripts under `folder`. */
export function cliCallsIn(folder: string): CodeCall[] {
  const calls = new Map<string, Set<string>>();
  const dir = join(PROJECT_ROOT, folder);
  for (const name of readdirSync(dir).filter((n) => n.endsWith(".sh"))) {
    const where = `${folder}/${name}`;
    const text = readFileSync(join(dir, name), "utf8").replace(/^\s*#.*$/gm, "");
    for (const [, service, operation] of text.matchAll(/\baws\s+(?:--region\s+\S+\s+)?([a-z0-9-]+)\s+([a-z][a-z0-9-]+)/g)) {
      const prefix = IAM_PREFIX_OF_CLI_SERVICE[service!];
      if (!prefix) throw new Error(`${where} calls "aws ${service} ${operation}": add the service's IAM prefix to IAM_PREFIX_OF_CLI_SERVICE`);
      const action = `${prefix}:${pascal(operation!)}`;
      calls.set(action, (calls.get(action) ?? new Set()).add(where));
    }
  }
  return merge(calls);
}
