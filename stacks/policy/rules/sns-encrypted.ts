import { COMPLIANT, violation, type PolicyRule } from "../rule";

/** Alert topics carry host names, addresses and failure details: encrypted at rest with a key the pool controls. */
export const snsEncrypted: PolicyRule = {
  id: "SNS-ENCRYPTED",
  threat: "alerts describing the pool's hosts and failures stored unencrypted, readable by anyone with SNS storage access",
  equivalents: { checkov: ["CKV_AWS_26"], trivy: ["AVD-AWS-0095", "AVD-AWS-0136"], cdkNag: ["AwsSolutions-SNS3"] },
  resourceTypes: ["aws_sns_topic"],
  check(resource) {
    const key = resource.config.kms_master_key_id;
    if (typeof key !== "string" || key.length === 0) return violation("kms_master_key_id is not set");
    if (key === "alias/aws/sns") return violation("uses the AWS-managed key alias/aws/sns, not the pool's key");
    return COMPLIANT;
  },
};
