/**
 * Boot-time configuration as cloud-init user data, rendered from the files beside this module: the host's settings
 * (/etc/default/pool-node), the node's files (unit, environment, topology), and the boot scripts. Rendered as text
 * and tested as text; nothing here runs at synth.
 */
import { readFileSync } from "node:fs";
import { gzipSync } from "node:zlib";

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
export type BootScript = "sync-time.sh" | "prepare-node.sh" | "mount-chain-volume.sh" | "start-node.sh" | "prepare-monitoring.sh";

/** An account cloud-init creates in its init stage, before any deferred file is written or any script runs. */
export interface BootUser {
  readonly name: string;
  /** A system account (service user): no login shell, no password, no keys. @default false */
  readonly system?: boolean;
  readonly homedir?: string;
  /** The group of the same name is created first and made the primary group. */
  readonly primaryGroup?: string;
  readonly shell?: string;
  /** Passwordless sudo, as Debian's cloud images give their default user. @default false */
  readonly sudo?: boolean;
  readonly sshAuthorizedKeys?: readonly string[];
}

export interface BootPlan {
  /** Accounts: the operators' login user (with their keys) and, on nodes, the node's service account. */
  readonly users: readonly BootUser[];
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

/**
 * Files larger than this travel compressed (`gz+b64`, which cloud-init decodes): EC2 takes at most 16 KiB of user
 * data, and YAML's indentation alone costs several bytes a line. A file holding a Terraform placeholder (`@@…@@`,
 * replaced at apply) stays plain.
 */
export const COMPRESS_FILES_OVER_BYTES = 256;

function compressed(file: BootFile): BootFile {
  if (file.encoding || Buffer.byteLength(file.content) <= COMPRESS_FILES_OVER_BYTES || /@@[A-Z_]+@@/.test(file.content)) return file;
  return { ...file, content: gzipSync(file.content, { level: 9 }).toString("base64"), encoding: "gz+b64" };
}

function writeFile(input: BootFile): string {
  const file = compressed(input);
  return [
    `  - path: ${file.path}`,
    `    permissions: "${file.mode ?? "0644"}"`,
    `    owner: ${file.owner ?? "root:root"}`,
    // cloud-init writes files before it creates users (write_files runs in the init stage ahead of users-groups);
    // a file owned by the node user waits for the final stage (`defer`), by when the user exists.
    ...(file.owner && !file.owner.startsWith("root") ? ["    defer: true"] : []),
    ...(file.encoding ? [`    encoding: ${file.encoding}`] : []),
    "    content: |",
    indentBlock(file.content.endsWith("\n") ? file.content.slice(0, -1) : file.content, 6),
  ].join("\n");
}

/** YAML scalars written as JSON strings: JSON's double-quoted form is valid YAML and escapes anything a key comment holds. */
const yamlString = (value: string): string => JSON.stringify(value);

/**
 * cloud-init `groups` + `users` (module users-groups, init stage). Listing users replaces the image's default user
 * (Debian's EC2 images: `admin`), so the login user is listed explicitly with the pool's keys: an instance has no
 * other way in (no EC2 key pair).
 */
function renderUsers(users: readonly BootUser[]): string {
  const groups = users.flatMap((u) => (u.primaryGroup ? [u.primaryGroup] : []));
  const lines: string[] = [];
  if (groups.length > 0) lines.push("groups:", ...groups.map((g) => `  - ${yamlString(g)}`));
  lines.push("users:");
  for (const user of users) {
    lines.push(`  - name: ${yamlString(user.name)}`);
    if (user.system) lines.push("    system: true", "    no_create_home: true");
    if (user.primaryGroup) lines.push(`    primary_group: ${yamlString(user.primaryGroup)}`);
    if (user.homedir) lines.push(`    homedir: ${yamlString(user.homedir)}`);
    lines.push(`    shell: ${yamlString(user.shell ?? (user.system ? "/usr/sbin/nologin" : "/bin/bash"))}`);
    lines.push("    lock_passwd: true");
    if (user.sudo) lines.push(`    sudo: ${yamlString("ALL=(ALL) NOPASSWD:ALL")}`);
    if (user.sshAuthorizedKeys && user.sshAuthorizedKeys.length > 0) {
      lines.push("    ssh_authorized_keys:", ...user.sshAuthorizedKeys.map((k) => `      - ${yamlString(k.trim())}`));
    }
  }
  return lines.join("\n");
}

export function renderCloudInit(plan: BootPlan): string {
  if (!plan.users.some((u) => !u.system && (u.sshAuthorizedKeys?.length ?? 0) > 0)) {
    throw new Error("boot plan: no login user with an authorized key (nobody could log in to this host)");
  }
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
  // An empty `runcmd:` is null, which cloud-init's schema refuses (and its runcmd module then fails): omit it.
  const runcmd = plan.scripts.length > 0 ? ["runcmd:", ...plan.scripts.map((name) => `  - [ /usr/local/sbin/pool-${name.replace(/\.sh$/, "")} ]`)].join("\n") : "";
  return readFileSync(here("cloud-init.yaml"), "utf8")
    .replace("__USERS__", renderUsers(plan.users))
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
