/** The requests Terraform makes for the synthesised pool: every resource's calls (terraform-calls.ts) on that resource. */
import type { AwsRequest } from "./evaluate";
import { ACCOUNT, type SynthesisedPool } from "./synthesised-pool";
import { TERRAFORM_CALLS } from "./terraform-calls";

export interface TerraformRequest {
  /** `security/aws_secretsmanager_secret.secrets_coldSigningKey_…`. */
  readonly address: string;
  readonly request: AwsRequest;
}

/** Resource types whose calls are authorised on the resource itself, where a resource policy may apply. */
function resourceArn(pool: SynthesisedPool, stack: string, type: string, name: string, config: Record<string, unknown>): string {
  switch (type) {
    case "aws_secretsmanager_secret":
    case "aws_kms_key":
      return pool.resolve(stack, `\${${type}.${name}.arn}`);
    case "aws_secretsmanager_secret_policy":
      return pool.resolve(stack, String(config.secret_arn));
    case "aws_kms_alias":
      return `arn:aws:kms:${pool.region}:${ACCOUNT}:${pool.resolve(stack, String(config.name))}`;
    default:
      return "*";
  }
}

function attribute(config: Record<string, unknown>, path: string): unknown {
  return path.split(".").reduce<unknown>((value, key) => (value && typeof value === "object" ? (value as Record<string, unknown>)[key] : undefined), config);
}

export function terraformRequests(pool: SynthesisedPool): TerraformRequest[] {
  const requests: TerraformRequest[] = [];
  for (const qualified of pool.resourceTypes()) {
    const calls = TERRAFORM_CALLS[qualified];
    if (!calls) throw new Error(`the stacks synthesise ${qualified}, which test/iam/terraform-calls.ts does not describe: add the provider's calls for it`);
    if (qualified.startsWith("data.")) {
      for (const action of calls.read) requests.push({ address: qualified, request: { action, resource: "*" } });
      continue;
    }
    for (const { stack, name, config } of pool.resourcesOf(qualified)) {
      const address = `${stack}/${qualified}.${name}`;
      const resource = resourceArn(pool, stack, qualified, name, config);
      for (const action of [...calls.create, ...calls.read, ...(calls.update ?? []), ...calls.delete]) requests.push({ address, request: { action, resource } });
      if (calls.onKey) {
        const keyRef = attribute(config, calls.onKey.attribute);
        if (typeof keyRef !== "string") throw new Error(`${address}: no ${calls.onKey.attribute} to evaluate its key use on`);
        let key = pool.resolve(stack, keyRef);
        // An alias's target is the key id; its policy is found by the key's ARN.
        if (!key.startsWith("arn:")) key = `arn:aws:kms:${pool.region}:${ACCOUNT}:key/${key}`;
        for (const action of calls.onKey.actions) {
          const context: Record<string, string> = {};
          if (calls.onKey.viaService) context["kms:ViaService"] = `${calls.onKey.viaService}.${pool.region}.amazonaws.com`;
          if (action === "kms:CreateGrant") context["kms:GrantIsForAWSResource"] = "true";
          requests.push({ address, request: { action, resource: key, context } });
        }
      }
      if (calls.passesRole) {
        const role = passedRoleArn(pool, stack, config, calls.passesRole);
        requests.push({ address, request: { action: "iam:PassRole", resource: role } });
      }
    }
  }
  return requests;
}

function passedRoleArn(pool: SynthesisedPool, stack: string, config: Record<string, unknown>, attributeName: "iam_role_arn" | "iam_instance_profile"): string {
  const value = pool.resolve(stack, String(config[attributeName]));
  if (attributeName === "iam_role_arn") return value;
  const profile = pool.resourcesOf("aws_iam_instance_profile").find((p) => pool.resolve(p.stack, String(p.config.name)) === value);
  if (!profile) throw new Error(`no instance profile ${value} in the pool`);
  return `arn:aws:iam::${ACCOUNT}:role/${pool.resolve(profile.stack, String(profile.config.role))}`;
}
