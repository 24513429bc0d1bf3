import { COMPLIANT, NOT_APPLICABLE, violation, type PolicyRule } from "../rule";

/** EC2's limit on user data, in raw bytes before base64 (RunInstances refuses more). */
export const EC2_USER_DATA_LIMIT_BYTES = 16 * 1024;

/**
 * User data within EC2's 16 KiB. A pool whose config grows a host's boot text past it (many ssh.authorizedKeys, many
 * extra files) would synthesise and plan cleanly, then fail in RunInstances half-way through a deploy: refused here.
 * Interpolations (the chain volume's id) are counted as written; their values are about as long.
 */
export const ec2UserDataSize: PolicyRule = {
  id: "EC2-USER-DATA-SIZE",
  threat: "user data over EC2's 16 KiB passes synth and plan, then fails RunInstances in the middle of a deploy",
  equivalents: {},
  resourceTypes: ["aws_instance", "aws_launch_template"],
  check(resource) {
    const text = resource.config.user_data;
    const encoded = resource.config.user_data_base64;
    const bytes = typeof text === "string" ? Buffer.byteLength(text, "utf8") : typeof encoded === "string" ? Buffer.from(encoded, "base64").length : undefined;
    if (bytes === undefined) return NOT_APPLICABLE;
    return bytes <= EC2_USER_DATA_LIMIT_BYTES ? COMPLIANT : violation(`its user data is ${bytes} bytes, over EC2's ${EC2_USER_DATA_LIMIT_BYTES} (fewer ssh.authorizedKeys or pushConfig extra files for this tier; push-config delivers extra files after boot)`);
  },
};
