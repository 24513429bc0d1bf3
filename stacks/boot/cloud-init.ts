/**
 * Boot-time configuration as cloud-init user data, rendered from the files beside this module: the host's settings
 * (/etc/default/pool-node), the node's files (unit, environment, topology), and the boot scripts. Rendered as text
 * and tested as text; nothing here runs at synth.
 */
import { readFileSync } from "node:fs";

export interface BootFile {
  readonly path: string;
  readonly content: string;
  /** Octal mode string. @default "0644" */
  readonly mode?: string;
  /** @default "root:root" */
  readonly owner?: string;
  /** `gz+b64`: `content` is gzip then base64 (cloud-init decodes it), to keep user data under EC2's 16 KiB. */
  readonly encoding?: "gz+b64";
}

/** The boot scripts of this folder. */
export type BootScript = "prepare-node.sh" | "mount-chain-volume.sh" | "start-node.sh" | "prepare-monitoring.sh";

export interface BootPlan {
  /** Variables written to /etc/default/pool-node for the boot scripts. */
  readonly settings: Readonly<Record<string, string>>;
  /** Node files written before the scripts run. */
  readonly files: readonly BootFile[];
  /** Boot scripts of this folder, run in order. */
  readonly scripts: readonly BootScript[];
}

const here = (name: string) => new URL(`./${name}`, import.meta.url);
export const bootScript = (name: string): string => readFileSync(here(name), "utf8");

function indentBlock(text: string, spaces: number): string {
  const pad = " ".repeat(spaces);
  return text
    .split("\n")
    .map((line) => (line.length > 0 ? pad + line : line))
    .join("\n");
}

function shellValue(value: string): string {
  if (/[\n'\\]/.test(value)) throw new Error(`boot setting value must not contain quotes, backslashes or newlines: ${JSON.stringify(value)}`);
  return `'${value}'`;
}

function writeFile(file: BootFile): string {
  return [
    `  - path: ${file.path}`,
    `    permissions: "${file.mode ?? "0644"}"`,
    `    owner: ${file.owner ?? "root:root"}`,
    // Files owned by the node user are written after the user exists (prepare-node.sh creates it).
    ...(file.owner && !file.owner.startsWith("root") ? ["    defer: true"] : []),
    ...(file.encoding ? [`    encoding: ${file.encoding}`] : []),
    "    content: |",
    indentBlock(file.content.endsWith("\n") ? file.content.slice(0, -1) : file.content, 6),
  ].join("\n");
}

export function renderCloudInit(plan: BootPlan): string {
  const settings = Object.entries(plan.settings)
    .map(([key, value]) => {
      if (!/^[A-Z][A-Z0-9_]*$/.test(key)) throw new Error(`boot setting name must be UPPER_SNAKE_CASE: ${key}`);
      return `${key}=${shellValue(value)}`;
    })
    .join("\n");
  const files: BootFile[] = [
    { path: "/etc/default/pool-node", content: `${settings}\n`, mode: "0644" },
    ...plan.scripts.map((name) => ({ path: `/usr/local/sbin/pool-${name.replace(/\.sh$/, "")}`, content: bootScript(name), mode: "0755" })),
    ...plan.files,
  ];
  const runcmd = plan.scripts.map((name) => `  - [ /usr/local/sbin/pool-${name.replace(/\.sh$/, "")} ]`).join("\n");
  return readFileSync(here("cloud-init.yaml"), "utf8")
    .replace("__WRITE_FILES__", files.map(writeFile).join("\n"))
    .replace("__RUNCMD__", runcmd);
}

/**
 * Terraform treats `${…}` and `%{…}` in any string as its own template syntax; shell scripts are full of them. The
 * text is escaped for Terraform, then each `@@NAME@@` placeholder is replaced by its (unescaped) Terraform value.
 */
export function asTerraformString(text: string, values: Readonly<Record<string, string>> = {}): string {
  // Replacer functions: in a replacement string "$$" would itself mean a single "$".
  let escaped = text.replace(/\$\{/g, () => "$${").replace(/%\{/g, () => "%%{");
  for (const [name, value] of Object.entries(values)) escaped = escaped.split(`@@${name}@@`).join(value);
  const leftover = /@@[A-Z_]+@@/.exec(escaped);
  if (leftover) throw new Error(`boot user data placeholder ${leftover[0]} has no value`);
  return escaped;
}
