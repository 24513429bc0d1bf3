/**
 * Loads and validates a pool config. Bad config is refused before anything is synthesised or touched, with every
 * wrong field named by its path, what was expected, and what was found.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseDocument } from "yaml";
import type { z } from "zod";
import { PoolConfigSchema, type PoolConfig } from "./schema";

/** The embedded default pool (a preprod pool), used when no config file is named. */
export const DEFAULT_POOL_CONFIG_PATH = fileURLToPath(new URL("./default-pool.yaml", import.meta.url));

export class PoolConfigError extends Error {
  constructor(
    readonly source: string,
    readonly problems: readonly string[],
  ) {
    super(`${source}: invalid pool config\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "PoolConfigError";
  }
}

function describeValue(value: unknown): string {
  if (value === undefined) return "nothing";
  const text = JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function formatPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((out, key) => (typeof key === "number" ? `${out}[${key}]` : out ? `${out}.${String(key)}` : String(key)), "");
}

/** One line per issue: `relays.count: expected an integer between 2 and 16, got "four"`. */
export function formatConfigIssues(issues: readonly z.core.$ZodIssue[]): string[] {
  return issues.map((issue) => {
    const where = formatPath(issue.path) || "(top level)";
    if (issue.code === "unrecognized_keys") {
      return `${where}: unknown field${issue.keys.length > 1 ? "s" : ""} ${issue.keys.map((k) => `"${k}"`).join(", ")}`;
    }
    // A private key pasted into the config is never echoed (it would land in a terminal or a CI log).
    const secret = issue.code === "custom" && (issue.params as { secret?: boolean } | undefined)?.secret === true;
    const got = "input" in issue && !secret ? `, got ${describeValue(issue.input)}` : "";
    return `${where}: ${issue.message}${got}`;
  });
}

/** Validates an already-parsed document; `source` names it in errors. */
export function parsePoolConfig(document: unknown, source: string): PoolConfig {
  const result = PoolConfigSchema.safeParse(document, { reportInput: true });
  if (!result.success) throw new PoolConfigError(source, formatConfigIssues(result.error.issues));
  const config = result.data;
  const endpoint = process.env.POOL_EMULATOR_ENDPOINT;
  if (endpoint && !config.emulator) {
    // Test mode: the same validation as the config field, so an env var cannot point the pool at a remote host.
    return parsePoolConfig({ ...(document as object), emulator: { endpoint } }, `${source} (with POOL_EMULATOR_ENDPOINT)`);
  }
  return config;
}

export function parsePoolConfigYaml(text: string, source: string): PoolConfig {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new PoolConfigError(source, doc.errors.map((e) => `YAML: ${e.message.split("\n")[0]}`));
  }
  return parsePoolConfig(doc.toJS(), source);
}

export function loadPoolConfigFile(path: string): PoolConfig {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === "ENOENT" ? "file not found" : (error as Error).message;
    throw new PoolConfigError(path, [`cannot read the pool config: ${reason}`]);
  }
  return parsePoolConfigYaml(text, path);
}

/**
 * The pool config chosen the documented way: an explicit path, else the `POOL_CONFIG` environment variable, else the
 * embedded default pool.
 */
export function loadPoolConfig(explicitPath?: string): { config: PoolConfig; path: string } {
  const path = explicitPath ?? process.env.POOL_CONFIG ?? DEFAULT_POOL_CONFIG_PATH;
  return { config: loadPoolConfigFile(path), path };
}
