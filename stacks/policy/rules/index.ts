/** Every rule the pool's stacks must pass. Later stacks add theirs here. */
import type { PolicyRule } from "../rule";
import { defaultSecurityGroupClosed } from "./default-security-group-closed";
import { ebsEncrypted } from "./ebs-encrypted";
import { ec2UserDataSize } from "./ec2-user-data-size";
import { iamNoColdKeyForInstances } from "./iam-no-cold-key-for-instances";
import { iamNoWildcardAdmin } from "./iam-no-wildcard-admin";
import { imdsv2Required } from "./imdsv2-required";
import { kmsRotation } from "./kms-rotation";
import { logGroupsEncrypted } from "./log-groups-encrypted";
import { nodeMemoryFitsNetwork } from "./node-memory-fits-network";
import { noPublicIpPrivateTier } from "./no-public-ip-private-tier";
import { noSecretValuesInState } from "./no-secret-values-in-state";
import { producerNoInternetRoute } from "./producer-no-internet-route";
import { snsEncrypted } from "./sns-encrypted";
import { sgBastionAdminCidrs } from "./sg-bastion-admin-cidrs";
import { sgSshFromBastion } from "./sg-ssh-from-bastion";
import { sgWorldIngress } from "./sg-world-ingress";
import { vpcEndpointPolicy } from "./vpc-endpoint-policy";
import { vpcFlowLogs } from "./vpc-flow-logs";

export const POLICY_RULES: readonly PolicyRule[] = [
  sgWorldIngress,
  sgSshFromBastion,
  sgBastionAdminCidrs,
  producerNoInternetRoute,
  noPublicIpPrivateTier,
  imdsv2Required,
  ec2UserDataSize,
  ebsEncrypted,
  vpcFlowLogs,
  defaultSecurityGroupClosed,
  kmsRotation,
  noSecretValuesInState,
  logGroupsEncrypted,
  iamNoColdKeyForInstances,
  iamNoWildcardAdmin,
  snsEncrypted,
  vpcEndpointPolicy,
  nodeMemoryFitsNetwork,
];
