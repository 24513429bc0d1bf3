import { COMPLIANT, NOT_APPLICABLE, violation, type PolicyRule } from "../rule";
import { allowStatements, policiesOnRole } from "./iam-statements";

const ADMIN_MANAGED_POLICIES = ["AdministratorAccess", "PowerUserAccess", "IAMFullAccess"];

/** No policy of the pool grants every action, or administrator-level managed policies. */
export const iamNoWildcardAdmin: PolicyRule = {
  id: "IAM-NO-WILDCARD-ADMIN",
  threat: "an administrator grant turns any compromise of the role's holder into a compromise of the whole account",
  equivalents: { checkov: ["CKV_AWS_62", "CKV_AWS_63", "CKV_AWS_286", "CKV_AWS_287", "CKV_AWS_288", "CKV_AWS_289"], trivy: ["AVD-AWS-0342"], cdkNag: ["AwsSolutions-IAM4", "AwsSolutions-IAM5"] },
  resourceTypes: ["aws_iam_role", "aws_iam_role_policy", "aws_iam_role_policy_attachment", "aws_iam_policy"],
  check(resource, context) {
    const { documents, managedArns } =
      resource.type === "aws_iam_policy" ? { documents: [resource.config.policy], managedArns: [] } : policiesOnRole(resource, context);
    if (documents.length === 0 && managedArns.length === 0) return NOT_APPLICABLE;
    const admin = managedArns.find((arn) => ADMIN_MANAGED_POLICIES.some((name) => arn.endsWith(`/${name}`)));
    if (admin) return violation(`attaches ${admin}`);
    for (const document of documents) {
      for (const statement of allowStatements(document)) {
        const everyAction = statement.actions.some((a) => a === "*" || a.endsWith(":*"));
        if (everyAction && statement.resources.includes("*")) {
          return violation(`allows ${statement.actions.join(", ")} on every resource`);
        }
      }
    }
    return COMPLIANT;
  },
};
