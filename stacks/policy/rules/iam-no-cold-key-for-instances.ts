import { COMPLIANT, NOT_APPLICABLE, violation, type PolicyRule } from "../rule";
import { actionMatches, allowStatements, isInstanceRole, mayBeColdSecret, policiesOnRole } from "./iam-statements";

/** AWS managed policies that read every secret of the account. */
const SECRET_READING_MANAGED_POLICIES = ["AdministratorAccess", "PowerUserAccess", "SecretsManagerReadWrite"];
const READ_SECRET = "secretsmanager:GetSecretValue";

/** No instance role may read the cold signing key or the counter: a compromised node must not be able to mint certs. */
export const iamNoColdKeyForInstances: PolicyRule = {
  id: "IAM-NO-COLD-KEY-FOR-INSTANCES",
  threat: "a node that can read the cold key lets whoever compromises it issue op certs and take over the pool for good",
  equivalents: { checkov: ["CKV_AWS_355", "CKV_AWS_290"], cdkNag: ["AwsSolutions-IAM5"] },
  resourceTypes: ["aws_iam_role", "aws_iam_role_policy", "aws_iam_role_policy_attachment"],
  check(resource, context) {
    const { role, documents, managedArns } = policiesOnRole(resource, context);
    if (!isInstanceRole(role)) return NOT_APPLICABLE;
    const managed = managedArns.find((arn) => SECRET_READING_MANAGED_POLICIES.some((name) => arn.endsWith(`/${name}`)));
    if (managed) return violation(`instance role ${String(role?.config.name)} gets ${managed}, which reads every secret including the cold key`);
    for (const document of documents) {
      for (const statement of allowStatements(document)) {
        if (!statement.actions.some((a) => actionMatches(a, READ_SECRET))) continue;
        const cold = statement.resources.find((r) => mayBeColdSecret(r, resource, context));
        if (cold) {
          return violation(
            `instance role ${String(role?.config.name)} may read the cold-key secrets (${statement.actions.join(", ")} on ${cold}); ` +
              `only the operator role may (check iam.extraInstanceStatements)`,
          );
        }
      }
    }
    return COMPLIANT;
  },
};
