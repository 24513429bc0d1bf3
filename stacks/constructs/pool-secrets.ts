/**
 * Secrets Manager *containers* for the pool's keys — never their values, which pool-ops puts later so they never
 * enter Terraform state. Cold secrets (cold signing key, op-cert issue counter) are readable by the operator role
 * alone; hot secrets (KES key, VRF key, op cert) by the producer instance role (through the VPC endpoint) and the
 * operator role. A resource policy on each secret (./secret-policies.ts) enforces that on the values even against a
 * too-generous IAM policy, and leaves reading the metadata to IAM, so whoever runs Terraform can read them back.
 */
import { SecretsmanagerSecret } from "@cdktf/provider-aws/lib/secretsmanager-secret";
import { SecretsmanagerSecretPolicy } from "@cdktf/provider-aws/lib/secretsmanager-secret-policy";
import { Construct } from "constructs";
import { poolSecretNames, type PoolSecretKey } from "../../config/names";
import { policyDocument } from "./iam-policy-document";
import { secretPolicyStatements } from "./secret-policies";

export type SecretClass = "cold" | "hot";

export const SECRET_CLASS: Record<PoolSecretKey, SecretClass> = {
  coldSigningKey: "cold",
  opcertCounter: "cold",
  kesSigningKey: "hot",
  vrfSigningKey: "hot",
  opcert: "hot",
};

const DESCRIPTIONS: Record<PoolSecretKey, string> = {
  coldSigningKey: "Stake pool cold signing key (text envelope). Operator role only; never on a node.",
  opcertCounter: "Operational certificate issue counter (text envelope). Operator role only.",
  kesSigningKey: "Current KES signing key (text envelope). Producer role through the VPC endpoint.",
  vrfSigningKey: "VRF signing key (text envelope). Producer role through the VPC endpoint.",
  opcert: "Current operational certificate (text envelope). Producer role through the VPC endpoint.",
};

export interface PoolSecretsProps {
  readonly poolName: string;
  readonly kmsKeyArn: string;
  readonly accountId: string;
  readonly operatorRoleArn: string;
  readonly producerRoleArn: string;
  /** Principals that run Terraform; when listed, only they manage the secrets. @default [] (left to IAM) */
  readonly deployerPrincipals?: readonly string[];
  /** The Secrets Manager interface endpoint producers must come through. @default no endpoint condition */
  readonly secretsManagerEndpointId?: string;
  /** @default 30 */
  readonly recoveryWindowInDays?: number;
}

export class PoolSecrets extends Construct {
  readonly secrets: Record<PoolSecretKey, SecretsmanagerSecret>;

  constructor(scope: Construct, id: string, props: PoolSecretsProps) {
    super(scope, id);
    const names = poolSecretNames(props.poolName);
    const root = `arn:aws:iam::${props.accountId}:root`;
    const entries = (Object.keys(names) as PoolSecretKey[]).map((key) => {
      const secretClass = SECRET_CLASS[key];
      const secret = new SecretsmanagerSecret(this, key, {
        name: names[key],
        description: DESCRIPTIONS[key],
        kmsKeyId: props.kmsKeyArn,
        recoveryWindowInDays: props.recoveryWindowInDays ?? 30,
        tags: { Name: names[key], Role: "security", KeyClass: secretClass },
      });
      const statements = secretPolicyStatements(secretClass, {
        operatorRoleArn: props.operatorRoleArn,
        producerRoleArn: props.producerRoleArn,
        accountRootArn: root,
        ...(props.deployerPrincipals ? { deployerPrincipals: props.deployerPrincipals } : {}),
        ...(props.secretsManagerEndpointId ? { secretsManagerEndpointId: props.secretsManagerEndpointId } : {}),
      });
      new SecretsmanagerSecretPolicy(this, `${key}-policy`, { secretArn: secret.arn, policy: policyDocument(...statements) });
      return [key, secret] as const;
    });
    this.secrets = Object.fromEntries(entries) as Record<PoolSecretKey, SecretsmanagerSecret>;
  }

  arnsOf(secretClass: SecretClass): string[] {
    return (Object.keys(this.secrets) as PoolSecretKey[]).filter((k) => SECRET_CLASS[k] === secretClass).map((k) => this.secrets[k].arn);
  }
}
