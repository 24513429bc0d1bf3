import { COMPLIANT, isTrue, violation, type PolicyRule } from "../rule";

/** Customer-managed keys rotate yearly. */
export const kmsRotation: PolicyRule = {
  id: "KMS-ROTATION",
  threat: "a key that never rotates keeps every ciphertext exposed to one compromised key version forever",
  equivalents: { checkov: ["CKV_AWS_7"], trivy: ["AVD-AWS-0065"], cdkNag: ["AwsSolutions-KMS5"] },
  resourceTypes: ["aws_kms_key"],
  check(resource) {
    return isTrue(resource.config.enable_key_rotation) ? COMPLIANT : violation("enable_key_rotation is not true");
  },
};
