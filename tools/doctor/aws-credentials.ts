/**
 * Which AWS credentials pool-ops and Terraform would find, read from the environment and the shared config files
 * without asking AWS (the doctor works offline and never calls the instance metadata service). The order is the
 * SDK's default chain (@aws-sdk/credential-provider-node, defaultProvider: environment, then the shared files'
 * profile — SSO, role, process, static keys —, then web identity, then container/instance metadata).
 *
 * What matters for pool-ops: the operator role trusts only sessions with MFA (stacks/constructs/operator-role.ts:
 * aws:MultiFactorAuthPresent), and the SDK for JavaScript cannot ask for an MFA code on its own: a profile with
 * `mfa_serial` fails with "requires multi-factor authentication, but no MFA code callback was provided"
 * (@aws-sdk/credential-provider-ini, resolveAssumeRoleCredentials). The session must be made first, e.g. by the AWS
 * CLI (`aws configure export-credentials`, which prompts for the code), and handed over in the environment.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

export type AwsCredentialSource =
  | { readonly kind: "environment-session"; readonly expires?: Date }
  | { readonly kind: "environment-keys" }
  | { readonly kind: "web-identity"; readonly roleArn: string }
  | { readonly kind: "container" }
  | { readonly kind: "profile-sso"; readonly profile: string }
  | { readonly kind: "profile-role"; readonly profile: string; readonly roleArn: string; readonly mfaSerial?: string }
  | { readonly kind: "profile-process"; readonly profile: string }
  | { readonly kind: "profile-static"; readonly profile: string; readonly file: string }
  | { readonly kind: "profile-unknown"; readonly profile: string; readonly files: readonly string[] }
  | { readonly kind: "none"; readonly profile: string; readonly files: readonly string[] };

type Section = Record<string, string>;

/** Sections of an AWS shared config/credentials file: `[name]` → key = value (nested sub-sections skipped). */
export function parseSharedIni(text: string): Map<string, Section> {
  const sections = new Map<string, Section>();
  let current: Section | undefined;
  for (const raw of text.split(/\r?\n/)) {
    if (/^\s*([#;]|$)/.test(raw)) continue;
    const header = /^\s*\[\s*([^\]]+?)\s*\]\s*$/.exec(raw);
    if (header) {
      current = {};
      sections.set(header[1]!.replace(/\s+/g, " "), current);
      continue;
    }
    // An indented line continues a nested setting (`s3 =` followed by its keys): not a profile key.
    if (/^\s/.test(raw)) continue;
    const pair = /^([^=]+?)\s*=\s*(.*)$/.exec(raw);
    if (pair && current) current[pair[1]!.trim().toLowerCase()] = pair[2]!.trim();
  }
  return sections;
}

export interface SharedFiles {
  readonly configFile: string;
  readonly credentialsFile: string;
}

/** Where the SDK and the AWS CLI read shared settings: AWS_CONFIG_FILE / AWS_SHARED_CREDENTIALS_FILE, else ~/.aws. */
export function sharedFiles(env: Readonly<Record<string, string | undefined>>, home: string): SharedFiles {
  return {
    configFile: env.AWS_CONFIG_FILE || join(home, ".aws", "config"),
    credentialsFile: env.AWS_SHARED_CREDENTIALS_FILE || join(home, ".aws", "credentials"),
  };
}

function readIni(file: string): Map<string, Section> {
  return existsSync(file) ? parseSharedIni(readFileSync(file, "utf8")) : new Map();
}

/** The first credential source the default chain would use. */
export function findAwsCredentials(env: Readonly<Record<string, string | undefined>>, home: string): AwsCredentialSource {
  if (env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY) {
    if (!env.AWS_SESSION_TOKEN) return { kind: "environment-keys" };
    const expires = env.AWS_CREDENTIAL_EXPIRATION ? new Date(env.AWS_CREDENTIAL_EXPIRATION) : undefined;
    return expires && !Number.isNaN(expires.getTime()) ? { kind: "environment-session", expires } : { kind: "environment-session" };
  }
  const profile = env.AWS_PROFILE || env.AWS_DEFAULT_PROFILE || "default";
  const { configFile, credentialsFile } = sharedFiles(env, home);
  const config = readIni(configFile);
  const credentials = readIni(credentialsFile);
  // In the config file a profile is `[profile name]` (`[default]` for the default); in the credentials file `[name]`.
  const fromConfig = config.get(profile === "default" ? "default" : `profile ${profile}`) ?? (profile === "default" ? config.get("profile default") : undefined);
  const settings: Section = { ...credentials.get(profile), ...fromConfig };
  const files = [configFile, credentialsFile];
  if (fromConfig || credentials.has(profile)) {
    if (settings.sso_session || settings.sso_start_url) return { kind: "profile-sso", profile };
    if (settings.role_arn) return { kind: "profile-role", profile, roleArn: settings.role_arn, ...(settings.mfa_serial ? { mfaSerial: settings.mfa_serial } : {}) };
    if (settings.credential_process) return { kind: "profile-process", profile };
    if (settings.aws_access_key_id && settings.aws_secret_access_key) {
      return { kind: "profile-static", profile, file: credentials.get(profile)?.aws_access_key_id ? credentialsFile : configFile };
    }
    // A profile holding only settings (region, output): the chain goes on, unless it was named explicitly.
    if (env.AWS_PROFILE) return { kind: "profile-unknown", profile, files };
  }
  if (env.AWS_WEB_IDENTITY_TOKEN_FILE && env.AWS_ROLE_ARN) return { kind: "web-identity", roleArn: env.AWS_ROLE_ARN };
  if (env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI || env.AWS_CONTAINER_CREDENTIALS_FULL_URI) return { kind: "container" };
  return { kind: "none", profile, files };
}
