/**
 * VPC endpoint policies: what may pass through the pool's private path to each AWS service. The threat is
 * exfiltration and misuse from inside the VPC — a credential of another account (an attacker's) used from a
 * compromised host, or a host writing the pool's keys to someone else's bucket. Every endpoint admits only principals
 * of the pool's own account; the Secrets Manager endpoint only the pool's own secrets; the S3 gateway only buckets of
 * the pool's account. Identity and resource policies still decide everything else.
 *
 * Endpoint policies and their condition keys: https://docs.aws.amazon.com/vpc/latest/privatelink/vpc-endpoints-access.html
 */
import type { InterfaceEndpointService } from "../../config/schema";
import { policyDocument, type PolicyStatement } from "./iam-policy-document";

/** The IAM service prefix behind each endpoint service name (`monitoring` is CloudWatch's API). */
export const ENDPOINT_ACTION_PREFIX: Record<InterfaceEndpointService | "s3", string> = {
  secretsmanager: "secretsmanager",
  ssm: "ssm",
  ssmmessages: "ssmmessages",
  ec2messages: "ec2messages",
  kms: "kms",
  logs: "logs",
  monitoring: "cloudwatch",
  s3: "s3",
};

export interface EndpointPolicyScope {
  readonly poolName: string;
  readonly region: string;
  readonly accountId: string;
}

/** The pool's secrets, by name: `<pool>/cold/…` and `<pool>/hot/…` (config/names.ts). */
export function poolSecretsArnPattern(scope: EndpointPolicyScope): string {
  return `arn:aws:secretsmanager:${scope.region}:${scope.accountId}:secret:${scope.poolName}/*`;
}

export function endpointPolicy(service: InterfaceEndpointService | "s3", scope: EndpointPolicyScope): string {
  const ownAccount = { StringEquals: { "aws:PrincipalAccount": scope.accountId } };
  const statement: PolicyStatement = {
    Sid: "OnlyThePoolsAccount",
    Effect: "Allow",
    Principal: "*",
    Action: `${ENDPOINT_ACTION_PREFIX[service]}:*`,
    Resource: "*",
    Condition: ownAccount,
  };
  if (service === "secretsmanager") return policyDocument({ ...statement, Sid: "OnlyThePoolsSecrets", Resource: poolSecretsArnPattern(scope) });
  if (service === "s3") {
    return policyDocument({ ...statement, Sid: "OnlyThePoolsAccountsBuckets", Condition: { StringEquals: { "aws:PrincipalAccount": scope.accountId, "aws:ResourceAccount": scope.accountId } } });
  }
  return policyDocument(statement);
}
