import { COMPLIANT, violation, type PolicyRule } from "../rule";

/** Secret values never pass through Terraform: they would sit in plain text in the state file. */
export const noSecretValuesInState: PolicyRule = {
  id: "NO-SECRET-VALUES-IN-STATE",
  threat: "Terraform state stores resource arguments in plain text: a secret value there is readable by anyone with the state",
  equivalents: {},
  resourceTypes: ["aws_secretsmanager_secret_version", "aws_ssm_parameter"],
  check(resource) {
    if (resource.type === "aws_secretsmanager_secret_version") {
      return violation("secret versions must be put by pool-ops (`pool-ops keys import`), never by Terraform");
    }
    return resource.config.type === "SecureString"
      ? violation("SecureString parameter values would be stored in Terraform state; put them with pool-ops")
      : COMPLIANT;
  },
};
