import { COMPLIANT, violation, type PolicyRule } from "../rule";

/** Log groups are encrypted with a customer-managed key and expire. */
export const logGroupsEncrypted: PolicyRule = {
  id: "LOGS-ENCRYPTED-RETENTION",
  threat: "logs hold addresses and operational detail: unencrypted they are readable by any account-wide reader, kept forever they grow unbounded",
  equivalents: { checkov: ["CKV_AWS_158", "CKV_AWS_66", "CKV_AWS_338"], trivy: ["AVD-AWS-0017"] },
  resourceTypes: ["aws_cloudwatch_log_group"],
  check(resource) {
    if (!resource.config.kms_key_id) return violation("the log group has no kms_key_id");
    const days = Number(resource.config.retention_in_days ?? 0);
    return days > 0 ? COMPLIANT : violation("the log group keeps logs forever (retention_in_days unset)");
  },
};
