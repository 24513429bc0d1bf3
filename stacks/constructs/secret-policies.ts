/**
 * The resource policies of the pool's key secrets: they protect the *values*, not the metadata.
 *
 * An explicit Deny in a resource policy beats every Allow, for every caller. So the denies name only the calls that
 * read or write a value (and, when the config lists the deployers, the calls that could change who may): reading a
 * secret's metadata stays with IAM, because Terraform reads every secret back with DescribeSecret and GetResourcePolicy
 * on each plan (terraform-provider-aws `internal/service/secretsmanager/secret.go`, resourceSecretRead, and
 * `secret_policy.go`, resourceSecretPolicyRead). Checked in hashicorp/aws 5.100.0 itself — the build in the provider
 * mirror, whose functions and calls can be read from its .gopclntab and machine code (the v5.100.0 source could not be
 * fetched here, and the stored source revisions, older, agree): resourceSecretRead calls findSecretByID (findSecret:
 * DescribeSecret), then, in a tfresource.Retry, findSecretPolicyByID (GetResourcePolicy); resourceSecretPolicyRead
 * calls findSecretPolicyByID. A policy that denied those to all but the operator locks the deployer out of its own
 * secrets: the first apply fails after creating them (resourceSecretCreate ends in resourceSecretRead), and every
 * later plan fails.
 *
 * - Cold secrets (cold signing key, op-cert counter): only the operator role reads or writes the value.
 * - Hot secrets (KES key, VRF key, op cert): the producer role and the operator read; only the operator writes;
 *   the producer role reads only through the pool's Secrets Manager endpoint (`aws:SourceVpce`).
 * - With `iam.deployerPrincipals`: only they (and the account's root user) change a secret's policy, settings or
 *   replication, or delete it.
 *
 * `aws:PrincipalArn` of a role session is the role's ARN; of the account's root user, `arn:aws:iam::<account>:root`.
 * Condition keys: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html
 */
import type { PolicyStatement } from "./iam-policy-document";

/** Calls that return a secret's value. */
export const VALUE_READ_ACTIONS = ["secretsmanager:GetSecretValue"] as const;

/** Calls that write or replace a secret's value (RotateSecret makes a rotation function write one). */
export const VALUE_WRITE_ACTIONS = ["secretsmanager:PutSecretValue", "secretsmanager:UpdateSecretVersionStage", "secretsmanager:RotateSecret", "secretsmanager:CancelRotateSecret"] as const;

/**
 * Calls that change who may read, or destroy the secret. UpdateSecret belongs here twice over: Terraform uses it for a
 * new description or key, and it can also write a value (its SecretString), so it is the deployers' alone.
 */
export const MANAGEMENT_ACTIONS = [
  "secretsmanager:PutResourcePolicy",
  "secretsmanager:DeleteResourcePolicy",
  "secretsmanager:UpdateSecret",
  "secretsmanager:DeleteSecret",
  "secretsmanager:RestoreSecret",
  "secretsmanager:ReplicateSecretToRegions",
  "secretsmanager:RemoveRegionsFromReplication",
  "secretsmanager:StopReplicationToReplica",
] as const;

/** Never denied by a secret policy: what Terraform (and the console) read on every plan. */
export const METADATA_READ_ACTIONS = ["secretsmanager:DescribeSecret", "secretsmanager:GetResourcePolicy", "secretsmanager:ListSecretVersionIds"] as const;

export interface SecretPolicyPrincipals {
  readonly operatorRoleArn: string;
  readonly producerRoleArn: string;
  /** `arn:aws:iam::<account>:root`: the root user, kept able to repair a policy. */
  readonly accountRootArn: string;
  /** @default [] — management calls left to IAM */
  readonly deployerPrincipals?: readonly string[];
  /** The Secrets Manager interface endpoint producers must come through. @default no endpoint condition */
  readonly secretsManagerEndpointId?: string;
}

const denyUnless = (Sid: string, actions: readonly string[], allowed: readonly string[]): PolicyStatement => ({
  Sid,
  Effect: "Deny",
  Principal: "*",
  Action: [...actions],
  Resource: "*",
  Condition: { StringNotEquals: { "aws:PrincipalArn": [...allowed] } },
});

export function secretPolicyStatements(secretClass: "cold" | "hot", p: SecretPolicyPrincipals): PolicyStatement[] {
  const statements: PolicyStatement[] =
    secretClass === "cold"
      ? [denyUnless("ColdKeyValueOnlyForTheOperator", [...VALUE_READ_ACTIONS, ...VALUE_WRITE_ACTIONS], [p.operatorRoleArn])]
      : [
          denyUnless("HotKeyValueOnlyForProducersAndTheOperator", VALUE_READ_ACTIONS, [p.operatorRoleArn, p.producerRoleArn]),
          denyUnless("HotKeyWritesOnlyByTheOperator", VALUE_WRITE_ACTIONS, [p.operatorRoleArn]),
        ];
  if (secretClass === "hot" && p.secretsManagerEndpointId) {
    statements.push({
      Sid: "ProducersReadOnlyThroughTheEndpoint",
      Effect: "Deny",
      Principal: "*",
      Action: [...VALUE_READ_ACTIONS],
      Resource: "*",
      // A request that does not come through an endpoint has no aws:SourceVpce: StringNotEquals then matches.
      Condition: { StringEquals: { "aws:PrincipalArn": [p.producerRoleArn] }, StringNotEquals: { "aws:SourceVpce": [p.secretsManagerEndpointId] } },
    });
  }
  if (p.deployerPrincipals && p.deployerPrincipals.length > 0) {
    statements.push(denyUnless("SecretManagedOnlyByTheDeployers", MANAGEMENT_ACTIONS, [...p.deployerPrincipals, p.accountRootArn]));
  }
  return statements;
}
