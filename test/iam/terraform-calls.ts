/**
 * The AWS calls Terraform makes for each resource type the stacks synthesise — the provider's create, read, update and
 * delete functions — as IAM actions, from hashicorp/terraform-provider-aws: the file and functions of each row are in
 * its `source` (paths as in the v5.100.0 tree this project's provider mirror holds). Offline, the source read was the
 * revision of each file a public index stores, not necessarily v5.100.0's: secret.go (resourceSecretRead:
 * DescribeSecret, GetResourcePolicy), kms/key.go (findKeyInfo: DescribeKey, GetKeyPolicy, GetKeyRotationStatus,
 * ListResourceTags) and vpc_endpoint.go (subnet configurations read through DescribeNetworkInterfaces) were checked
 * there. The v5.100.0 source itself could not be fetched (the repository is over the fetch limit), but its build is in
 * the mirror: the rows of aws_secretsmanager_secret, aws_secretsmanager_secret_policy, aws_instance and aws_eip were
 * checked against that binary — each CRUD function's calls, named by its .gopclntab, down to the AWS SDK operations —
 * which added DescribeInstanceTypes to aws_instance's read. Re-check a row against the tag when the provider moves. Every plan runs the read calls (refresh), so a read denied to the deployer fails every plan,
 * not just the first apply.
 *
 * Tag calls come from the provider's generated tagging (`tags_gen.go` of each service, transparent tagging): on
 * create most resources pass tags in the create request; changes go through the service's tag/untag calls.
 */

export interface ResourceTypeCalls {
  /** Provider source file and the functions whose calls are listed. */
  readonly source: string;
  readonly create: readonly string[];
  readonly read: readonly string[];
  readonly update?: readonly string[];
  readonly delete: readonly string[];
  /**
   * Calls the service makes with the deployer's credentials against a KMS key the resource names (EBS encryption:
   * https://docs.aws.amazon.com/ebs/latest/userguide/ebs-encryption-requirements.html).
   */
  readonly onKey?: { readonly attribute: "kms_key_id" | "root_block_device.kms_key_id" | "target_key_id"; readonly viaService?: "ec2"; readonly actions: readonly string[] };
  /** The resource passes an IAM role to a service (iam:PassRole on that role). */
  readonly passesRole?: "iam_role_arn" | "iam_instance_profile";
}

const EC2_TAGS = ["ec2:CreateTags", "ec2:DeleteTags"];
const EBS_KEY_USE = ["kms:CreateGrant", "kms:GenerateDataKeyWithoutPlaintext", "kms:Decrypt", "kms:DescribeKey", "kms:ReEncryptFrom", "kms:ReEncryptTo"];

export const TERRAFORM_CALLS: Readonly<Record<string, ResourceTypeCalls>> = {
  aws_vpc: {
    source: "internal/service/ec2/vpc_.go: resourceVPCCreate, resourceVPCRead (findVPCByID, findVPCAttribute, main route table, default NACL and SG lookups), resourceVPCUpdate, resourceVPCDelete",
    create: ["ec2:CreateVpc", "ec2:ModifyVpcAttribute", "ec2:CreateTags"],
    read: ["ec2:DescribeVpcs", "ec2:DescribeVpcAttribute", "ec2:DescribeRouteTables", "ec2:DescribeNetworkAcls", "ec2:DescribeSecurityGroups"],
    update: ["ec2:ModifyVpcAttribute", ...EC2_TAGS],
    delete: ["ec2:DeleteVpc"],
  },
  aws_subnet: {
    source: "internal/service/ec2/vpc_subnet.go: resourceSubnetCreate, resourceSubnetRead, resourceSubnetUpdate (modifySubnetAttributesOnCreate), resourceSubnetDelete",
    create: ["ec2:CreateSubnet", "ec2:ModifySubnetAttribute", "ec2:CreateTags"],
    read: ["ec2:DescribeSubnets"],
    update: ["ec2:ModifySubnetAttribute", ...EC2_TAGS],
    delete: ["ec2:DeleteSubnet", "ec2:DescribeNetworkInterfaces"],
  },
  aws_internet_gateway: {
    source: "internal/service/ec2/vpc_internet_gateway.go: resourceInternetGatewayCreate (attachInternetGateway), resourceInternetGatewayRead, resourceInternetGatewayDelete (detachInternetGateway)",
    create: ["ec2:CreateInternetGateway", "ec2:AttachInternetGateway", "ec2:CreateTags"],
    read: ["ec2:DescribeInternetGateways"],
    update: EC2_TAGS,
    delete: ["ec2:DetachInternetGateway", "ec2:DeleteInternetGateway"],
  },
  aws_route_table: {
    source: "internal/service/ec2/vpc_route_table.go: resourceRouteTableCreate (routeTableAddRoute), resourceRouteTableRead, resourceRouteTableUpdate, resourceRouteTableDelete",
    create: ["ec2:CreateRouteTable", "ec2:CreateRoute", "ec2:CreateTags"],
    read: ["ec2:DescribeRouteTables"],
    update: ["ec2:CreateRoute", "ec2:ReplaceRoute", "ec2:DeleteRoute", ...EC2_TAGS],
    delete: ["ec2:DeleteRouteTable"],
  },
  aws_route_table_association: {
    source: "internal/service/ec2/vpc_route_table_association.go: resourceRouteTableAssociationCreate, …Read (findRouteTableAssociationByID), …Update (ReplaceRouteTableAssociation), …Delete",
    create: ["ec2:AssociateRouteTable"],
    read: ["ec2:DescribeRouteTables"],
    update: ["ec2:ReplaceRouteTableAssociation"],
    delete: ["ec2:DisassociateRouteTable"],
  },
  aws_default_route_table: {
    source: "internal/service/ec2/vpc_default_route_table.go: resourceDefaultRouteTableCreate (adopts and empties the main table), shares resourceRouteTableRead/Update",
    create: ["ec2:DescribeRouteTables", "ec2:DeleteRoute", "ec2:CreateTags"],
    read: ["ec2:DescribeRouteTables"],
    update: ["ec2:CreateRoute", "ec2:DeleteRoute", ...EC2_TAGS],
    delete: [],
  },
  aws_default_network_acl: {
    source: "internal/service/ec2/vpc_default_network_acl.go: resourceDefaultNetworkACLCreate (deletes every entry, then adds the configured ones), resourceDefaultNetworkACLRead, …Update",
    create: ["ec2:DescribeNetworkAcls", "ec2:DeleteNetworkAclEntry", "ec2:CreateNetworkAclEntry", "ec2:CreateTags"],
    read: ["ec2:DescribeNetworkAcls"],
    update: ["ec2:DeleteNetworkAclEntry", "ec2:CreateNetworkAclEntry", "ec2:ReplaceNetworkAclAssociation", ...EC2_TAGS],
    delete: [],
  },
  aws_default_security_group: {
    source: "internal/service/ec2/vpc_default_security_group.go: resourceDefaultSecurityGroupCreate (revokes AWS's default rules), shares resourceSecurityGroupRead/Update",
    create: ["ec2:DescribeSecurityGroups", "ec2:RevokeSecurityGroupIngress", "ec2:RevokeSecurityGroupEgress", "ec2:CreateTags"],
    read: ["ec2:DescribeSecurityGroups"],
    update: ["ec2:AuthorizeSecurityGroupIngress", "ec2:AuthorizeSecurityGroupEgress", "ec2:RevokeSecurityGroupIngress", "ec2:RevokeSecurityGroupEgress", ...EC2_TAGS],
    delete: [],
  },
  aws_network_acl: {
    source: "internal/service/ec2/vpc_network_acl.go: resourceNetworkACLCreate (modifyNetworkACLAttributesOnCreate: entries, subnet associations), resourceNetworkACLRead, …Update, …Delete (moves subnets back to the default ACL)",
    create: ["ec2:CreateNetworkAcl", "ec2:CreateNetworkAclEntry", "ec2:ReplaceNetworkAclAssociation", "ec2:CreateTags"],
    read: ["ec2:DescribeNetworkAcls"],
    update: ["ec2:CreateNetworkAclEntry", "ec2:DeleteNetworkAclEntry", "ec2:ReplaceNetworkAclAssociation", ...EC2_TAGS],
    delete: ["ec2:ReplaceNetworkAclAssociation", "ec2:DeleteNetworkAcl"],
  },
  aws_security_group: {
    source: "internal/service/ec2/vpc_security_group.go: resourceSecurityGroupCreate (revokes the default egress rule), resourceSecurityGroupRead, …Update, …Delete",
    create: ["ec2:CreateSecurityGroup", "ec2:DescribeSecurityGroups", "ec2:RevokeSecurityGroupEgress", "ec2:CreateTags"],
    read: ["ec2:DescribeSecurityGroups"],
    update: ["ec2:AuthorizeSecurityGroupIngress", "ec2:AuthorizeSecurityGroupEgress", "ec2:RevokeSecurityGroupIngress", "ec2:RevokeSecurityGroupEgress", ...EC2_TAGS],
    delete: ["ec2:DeleteSecurityGroup", "ec2:DescribeNetworkInterfaces"],
  },
  aws_vpc_security_group_ingress_rule: {
    source: "internal/service/ec2/vpc_security_group_ingress_rule.go: securityGroupIngressRuleResource create/read/update/delete (framework resource)",
    create: ["ec2:AuthorizeSecurityGroupIngress"],
    read: ["ec2:DescribeSecurityGroupRules"],
    update: ["ec2:ModifySecurityGroupRules", ...EC2_TAGS],
    delete: ["ec2:RevokeSecurityGroupIngress"],
  },
  aws_vpc_security_group_egress_rule: {
    source: "internal/service/ec2/vpc_security_group_egress_rule.go: securityGroupEgressRuleResource (shares vpc_security_group_ingress_rule.go's base)",
    create: ["ec2:AuthorizeSecurityGroupEgress"],
    read: ["ec2:DescribeSecurityGroupRules"],
    update: ["ec2:ModifySecurityGroupRules", ...EC2_TAGS],
    delete: ["ec2:RevokeSecurityGroupEgress"],
  },
  aws_vpc_endpoint: {
    source: "internal/service/ec2/vpc_endpoint.go: resourceVPCEndpointCreate, resourceVPCEndpointRead (findVPCEndpointByID, the gateway's prefix list, findSubnetConfigurationsByNetworkInterfaceIDs), …Update (ModifyVpcEndpoint), …Delete",
    create: ["ec2:CreateVpcEndpoint", "ec2:CreateTags", "ec2:DescribeVpcEndpoints"],
    read: ["ec2:DescribeVpcEndpoints", "ec2:DescribePrefixLists", "ec2:DescribeNetworkInterfaces"],
    update: ["ec2:ModifyVpcEndpoint", ...EC2_TAGS],
    delete: ["ec2:DeleteVpcEndpoints"],
  },
  aws_flow_log: {
    source: "internal/service/ec2/vpc_flow_log.go: resourceLogFlowCreate, resourceLogFlowRead (findFlowLogByID), resourceLogFlowDelete",
    create: ["ec2:CreateFlowLogs", "ec2:CreateTags"],
    read: ["ec2:DescribeFlowLogs"],
    update: EC2_TAGS,
    delete: ["ec2:DeleteFlowLogs"],
    passesRole: "iam_role_arn",
  },
  aws_cloudwatch_log_group: {
    source: "internal/service/logs/group.go: resourceGroupCreate, resourceGroupRead (findLogGroupByName), resourceGroupUpdate (PutRetentionPolicy, AssociateKmsKey), resourceGroupDelete",
    create: ["logs:CreateLogGroup", "logs:PutRetentionPolicy", "logs:TagResource"],
    read: ["logs:DescribeLogGroups", "logs:ListTagsForResource"],
    update: ["logs:PutRetentionPolicy", "logs:AssociateKmsKey", "logs:DisassociateKmsKey", "logs:TagResource", "logs:UntagResource"],
    delete: ["logs:DeleteLogGroup"],
  },
  aws_kms_key: {
    source: "internal/service/kms/key.go: resourceKeyCreate (CreateKey, updateKeyRotationEnabled), resourceKeyRead (findKeyInfo: DescribeKey, GetKeyPolicy, GetKeyRotationStatus, ListResourceTags), resourceKeyUpdate (PutKeyPolicy …), resourceKeyDelete (ScheduleKeyDeletion)",
    create: ["kms:CreateKey", "kms:EnableKeyRotation", "kms:TagResource"],
    read: ["kms:DescribeKey", "kms:GetKeyPolicy", "kms:GetKeyRotationStatus", "kms:ListResourceTags"],
    update: ["kms:PutKeyPolicy", "kms:UpdateKeyDescription", "kms:EnableKeyRotation", "kms:DisableKeyRotation", "kms:TagResource", "kms:UntagResource"],
    delete: ["kms:ScheduleKeyDeletion"],
  },
  aws_kms_alias: {
    source: "internal/service/kms/alias.go: resourceAliasCreate, resourceAliasRead (findAliasByName: ListAliases), resourceAliasUpdate (UpdateAlias), resourceAliasDelete",
    create: ["kms:CreateAlias"],
    read: ["kms:ListAliases"],
    update: ["kms:UpdateAlias"],
    delete: ["kms:DeleteAlias"],
    // CreateAlias, UpdateAlias and DeleteAlias are authorised on the target key as well (its key policy decides).
    onKey: { attribute: "target_key_id", actions: ["kms:CreateAlias", "kms:UpdateAlias", "kms:DeleteAlias"] },
  },
  aws_iam_role: {
    source: "internal/service/iam/role.go: resourceRoleCreate, resourceRoleRead (findRoleByName, inline and managed policy lists), resourceRoleUpdate, resourceRoleDelete (deleteRole: instance profiles, policies)",
    create: ["iam:CreateRole", "iam:TagRole"],
    read: ["iam:GetRole", "iam:ListRolePolicies", "iam:ListAttachedRolePolicies"],
    update: ["iam:UpdateRole", "iam:UpdateAssumeRolePolicy", "iam:UpdateRoleDescription", "iam:TagRole", "iam:UntagRole"],
    delete: ["iam:ListInstanceProfilesForRole", "iam:RemoveRoleFromInstanceProfile", "iam:DeleteRole"],
  },
  aws_iam_role_policy: {
    source: "internal/service/iam/role_policy.go: resourceRolePolicyPut, resourceRolePolicyRead (findRolePolicyByTwoPartKey), resourceRolePolicyDelete",
    create: ["iam:PutRolePolicy"],
    read: ["iam:GetRolePolicy"],
    update: ["iam:PutRolePolicy"],
    delete: ["iam:DeleteRolePolicy"],
  },
  aws_iam_role_policy_attachment: {
    source: "internal/service/iam/role_policy_attachment.go: resourceRolePolicyAttachmentCreate, …Read (findAttachedRolePolicyByTwoPartKey), …Delete",
    create: ["iam:AttachRolePolicy"],
    read: ["iam:ListAttachedRolePolicies"],
    delete: ["iam:DetachRolePolicy"],
  },
  aws_iam_instance_profile: {
    source: "internal/service/iam/instance_profile.go: resourceInstanceProfileCreate (instanceProfileAddRole), …Read (findInstanceProfileByName), …Update, …Delete (instanceProfileRemoveRole)",
    create: ["iam:CreateInstanceProfile", "iam:AddRoleToInstanceProfile", "iam:TagInstanceProfile"],
    read: ["iam:GetInstanceProfile"],
    update: ["iam:AddRoleToInstanceProfile", "iam:RemoveRoleFromInstanceProfile", "iam:TagInstanceProfile", "iam:UntagInstanceProfile"],
    delete: ["iam:RemoveRoleFromInstanceProfile", "iam:DeleteInstanceProfile"],
  },
  aws_secretsmanager_secret: {
    source: "internal/service/secretsmanager/secret.go: resourceSecretCreate, resourceSecretRead (findSecretByID: DescribeSecret; findSecretPolicyByID: GetResourcePolicy), resourceSecretUpdate (UpdateSecret, PutResourcePolicy), resourceSecretDelete",
    create: ["secretsmanager:CreateSecret", "secretsmanager:TagResource"],
    read: ["secretsmanager:DescribeSecret", "secretsmanager:GetResourcePolicy"],
    update: ["secretsmanager:UpdateSecret", "secretsmanager:TagResource", "secretsmanager:UntagResource"],
    delete: ["secretsmanager:DeleteSecret"],
  },
  aws_secretsmanager_secret_policy: {
    source: "internal/service/secretsmanager/secret_policy.go: resourceSecretPolicyCreate (PutResourcePolicy), resourceSecretPolicyRead (findSecretPolicyByID), resourceSecretPolicyUpdate, resourceSecretPolicyDelete (DeleteResourcePolicy)",
    create: ["secretsmanager:PutResourcePolicy"],
    read: ["secretsmanager:GetResourcePolicy"],
    update: ["secretsmanager:PutResourcePolicy"],
    delete: ["secretsmanager:DeleteResourcePolicy"],
  },
  aws_ssm_parameter: {
    source: "internal/service/ssm/parameter.go: resourceParameterCreate (PutParameter), resourceParameterRead (findParameterByName: GetParameter; DescribeParameters for tier and description), resourceParameterUpdate, resourceParameterDelete",
    create: ["ssm:PutParameter", "ssm:AddTagsToResource"],
    read: ["ssm:GetParameter", "ssm:DescribeParameters", "ssm:ListTagsForResource"],
    update: ["ssm:PutParameter", "ssm:AddTagsToResource", "ssm:RemoveTagsFromResource"],
    delete: ["ssm:DeleteParameter"],
  },
  aws_ebs_volume: {
    source: "internal/service/ec2/ebs_volume.go: resourceEBSVolumeCreate, resourceEBSVolumeRead (findEBSVolumeByID), resourceEBSVolumeUpdate (ModifyVolume), resourceEBSVolumeDelete",
    create: ["ec2:CreateVolume", "ec2:CreateTags"],
    read: ["ec2:DescribeVolumes"],
    update: ["ec2:ModifyVolume", ...EC2_TAGS],
    delete: ["ec2:DeleteVolume"],
    onKey: { attribute: "kms_key_id", viaService: "ec2", actions: EBS_KEY_USE },
  },
  aws_volume_attachment: {
    source: "internal/service/ec2/ebs_volume_attachment.go: resourceVolumeAttachmentCreate (AttachVolume), …Read (findVolumeAttachment: DescribeVolumes), …Delete (stop_instance_before_detaching: StopInstances, then DetachVolume)",
    create: ["ec2:AttachVolume", "ec2:DescribeInstances"],
    read: ["ec2:DescribeVolumes"],
    delete: ["ec2:StopInstances", "ec2:DescribeInstances", "ec2:DetachVolume"],
  },
  aws_instance: {
    source: "internal/service/ec2/ec2_instance.go: resourceInstanceCreate (RunInstances — maintenance_options included, by buildInstanceOpts — then resourceInstanceUpdate for disable_api_termination …), resourceInstanceRead (findInstanceByID; findInstanceTypeByName: DescribeInstanceTypes, on every read; DescribeInstanceAttribute for user data, termination protection, shutdown behaviour, disable_api_stop; root block device via readBlockDevicesFromInstance: DescribeVolumes; DescribeInstanceCreditSpecifications for burstable types), resourceInstanceUpdate (ModifyInstanceAttribute, ModifyInstanceMaintenanceOptions on an existing instance, ModifyInstanceMetadataOptions), resourceInstanceDelete (TerminateInstances)",
    create: ["ec2:RunInstances", "ec2:CreateTags", "ec2:DescribeInstances"],
    read: ["ec2:DescribeInstances", "ec2:DescribeInstanceTypes", "ec2:DescribeInstanceAttribute", "ec2:DescribeVolumes", "ec2:DescribeInstanceCreditSpecifications", "ec2:DescribeTags"],
    update: ["ec2:ModifyInstanceAttribute", "ec2:ModifyInstanceMaintenanceOptions", "ec2:ModifyInstanceMetadataOptions", "ec2:StopInstances", "ec2:StartInstances", ...EC2_TAGS],
    delete: ["ec2:ModifyInstanceAttribute", "ec2:TerminateInstances", "ec2:DescribeInstances"],
    onKey: { attribute: "root_block_device.kms_key_id", viaService: "ec2", actions: EBS_KEY_USE },
    passesRole: "iam_instance_profile",
  },
  aws_eip: {
    source: "internal/service/ec2/ec2_eip.go: resourceEIPCreate (AllocateAddress, then associateEIP: AssociateAddress for `instance`), resourceEIPRead (findEIPByAllocationID → findEIPs: DescribeAddresses), resourceEIPUpdate, resourceEIPDelete (disassociateEIP: DisassociateAddress, ReleaseAddress)",
    create: ["ec2:AllocateAddress", "ec2:AssociateAddress", "ec2:CreateTags"],
    read: ["ec2:DescribeAddresses"],
    update: ["ec2:AssociateAddress", "ec2:DisassociateAddress", ...EC2_TAGS],
    delete: ["ec2:DisassociateAddress", "ec2:ReleaseAddress"],
  },
  aws_sns_topic: {
    source: "internal/service/sns/topic.go: resourceTopicCreate (CreateTopic with attributes), resourceTopicRead (findTopicAttributesByARN: GetTopicAttributes), resourceTopicUpdate (SetTopicAttributes), resourceTopicDelete",
    create: ["sns:CreateTopic", "sns:SetTopicAttributes", "sns:TagResource"],
    read: ["sns:GetTopicAttributes", "sns:ListTagsForResource"],
    update: ["sns:SetTopicAttributes", "sns:TagResource", "sns:UntagResource"],
    delete: ["sns:DeleteTopic"],
  },
  aws_sns_topic_subscription: {
    source: "internal/service/sns/topic_subscription.go: resourceTopicSubscriptionCreate (Subscribe), …Read (findSubscriptionAttributesByARN: GetSubscriptionAttributes), …Update (SetSubscriptionAttributes), …Delete (Unsubscribe)",
    create: ["sns:Subscribe"],
    read: ["sns:GetSubscriptionAttributes"],
    update: ["sns:SetSubscriptionAttributes"],
    delete: ["sns:Unsubscribe"],
  },
  aws_cloudwatch_metric_alarm: {
    source: "internal/service/cloudwatch/metric_alarm.go: resourceMetricAlarmCreate (PutMetricAlarm), resourceMetricAlarmRead (findMetricAlarmByName: DescribeAlarms), resourceMetricAlarmUpdate, resourceMetricAlarmDelete (DeleteAlarms)",
    create: ["cloudwatch:PutMetricAlarm", "cloudwatch:TagResource"],
    read: ["cloudwatch:DescribeAlarms", "cloudwatch:ListTagsForResource"],
    update: ["cloudwatch:PutMetricAlarm", "cloudwatch:TagResource", "cloudwatch:UntagResource"],
    delete: ["cloudwatch:DeleteAlarms"],
  },
  aws_dynamodb_table: {
    source: "internal/service/dynamodb/table.go: resourceTableCreate (CreateTable with tags and deletion protection, waitTableActive, updateTimeToLive then waitTTLUpdated; UpdateContinuousBackups only with point-in-time recovery), resourceTableRead (DescribeTable, DescribeContinuousBackups, DescribeTimeToLive, listTags: ListTagsOfResource), resourceTableUpdate (UpdateTable, UpdateTimeToLive, updateTags), resourceTableDelete (DeleteTable, waitTableDeleted)",
    create: ["dynamodb:CreateTable", "dynamodb:TagResource", "dynamodb:DescribeTable", "dynamodb:UpdateTimeToLive", "dynamodb:DescribeTimeToLive"],
    read: ["dynamodb:DescribeTable", "dynamodb:DescribeContinuousBackups", "dynamodb:DescribeTimeToLive", "dynamodb:ListTagsOfResource"],
    update: ["dynamodb:UpdateTable", "dynamodb:UpdateTimeToLive", "dynamodb:UpdateContinuousBackups", "dynamodb:TagResource", "dynamodb:UntagResource"],
    delete: ["dynamodb:DeleteTable", "dynamodb:DescribeTable"],
  },
  "data.aws_caller_identity": {
    source: "internal/service/sts/caller_identity_data_source.go: GetCallerIdentity (needs no permission: AWS always answers it)",
    create: [],
    read: [],
    delete: [],
  },
  "data.aws_ami": {
    source: "internal/service/ec2/ec2_ami_data_source.go: dataSourceAMIRead (findImages: DescribeImages with the owners and filters)",
    create: [],
    read: ["ec2:DescribeImages"],
    delete: [],
  },
  "data.terraform_remote_state": {
    source: "Terraform's builtin terraform_remote_state: reads the source stack's state from the backend (a local file by default; with the s3 backend, s3:GetObject on its key)",
    create: [],
    read: [],
    delete: [],
  },
};
