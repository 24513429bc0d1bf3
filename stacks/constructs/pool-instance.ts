/**
 * One EC2 host of the pool, secure by default: IMDSv2 only (hop limit 1, so containers cannot reach it), encrypted gp3
 * root with the pool's key, an optional encrypted gp3 chain-database volume, a fixed private address, and Pool/Role/
 * Name tags. AMI and user data changes are ignored after creation: configuration reaches running nodes through
 * `pool-ops push-config` and new images through `pool-ops image rollout`, never through a surprise replacement.
 */
import { CHAIN_VOLUME_DEVICE } from "../../config/host-layout";
import { EbsVolume } from "@cdktf/provider-aws/lib/ebs-volume";
import { Eip } from "@cdktf/provider-aws/lib/eip";
import { Instance } from "@cdktf/provider-aws/lib/instance";
import { VolumeAttachment } from "@cdktf/provider-aws/lib/volume-attachment";
import { Construct } from "constructs";
import type { HostRole } from "../../config/address-plan";
import { poolTags } from "../../config/names";

export interface PoolInstanceProps {
  readonly poolName: string;
  /** Host name from the address plan: `relay-1`, `producer-2`, `bastion`. */
  readonly hostName: string;
  readonly role: HostRole;
  readonly subnetId: string;
  readonly availabilityZone: string;
  readonly privateIp: string;
  readonly securityGroupIds: string[];
  readonly instanceProfileName: string;
  readonly instanceType: string;
  readonly amiId: string;
  readonly kmsKeyArn: string;
  /** @default 30 */
  readonly rootVolumeGiB?: number;
  /** Size of the chain-database volume; none when absent. */
  readonly chainDbVolumeGiB?: number;
  /** cloud-init user data, given the chain volume's id (the boot script finds the volume by it). */
  readonly userData?: (chainVolumeId: string | undefined) => string;
  /** Pre-encoded (e.g. gzip) user data, base64; used instead of `userData` for hosts whose files exceed 16 KiB as text. */
  readonly userDataBase64?: string;
  /** An Elastic IP gives the host a stable public address. @default false */
  readonly elasticIp?: boolean;
  /** Refuse API termination (producers: a mistaken destroy must not take the pool's keys' host). @default false */
  readonly terminationProtection?: boolean;
  /**
   * EC2's simplified automatic recovery, on by default for supported types: after a hardware failure AWS restarts the
   * instance elsewhere as it was. Producers turn it off — a producer that comes back by itself may forge beside the
   * one promoted in its place; the operator decides between recovery and `pool-ops promote`. @default true
   */
  readonly automaticRecovery?: boolean;
}


export class PoolInstance extends Construct {
  readonly instance: Instance;
  readonly chainVolume?: EbsVolume;
  readonly elasticIp?: Eip;

  constructor(scope: Construct, id: string, props: PoolInstanceProps) {
    super(scope, id);
    const tags = poolTags(props.poolName, props.role, props.hostName);

    if (props.chainDbVolumeGiB !== undefined) {
      this.chainVolume = new EbsVolume(this, "chain-db", {
        availabilityZone: props.availabilityZone,
        size: props.chainDbVolumeGiB,
        type: "gp3",
        encrypted: true,
        kmsKeyId: props.kmsKeyArn,
        tags: { ...tags, Name: `${tags.Name}-chain-db` },
      });
    }

    this.instance = new Instance(this, "instance", {
      ami: props.amiId,
      instanceType: props.instanceType,
      subnetId: props.subnetId,
      privateIp: props.privateIp,
      vpcSecurityGroupIds: props.securityGroupIds,
      iamInstanceProfile: props.instanceProfileName,
      // No auto-assigned public IP anywhere; hosts that need an address get an Elastic IP. With an EIP the attribute is
      // left unset: AWS then reports it true, and an explicit false would replace the instance on every plan (the
      // provider's resourceInstanceRead sets it from the primary interface's Association, which an EIP fills; the
      // attribute forces a new instance).
      ...(props.elasticIp ? {} : { associatePublicIpAddress: false }),
      disableApiTermination: props.terminationProtection ?? false,
      // https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/instance-configuration-recovery.html. In hashicorp/aws
      // 5.100.0 (ec2_instance.go; read from the mirror's build): a new instance gets it in RunInstances
      // (buildInstanceOpts reads maintenance_options); an existing one is changed by resourceInstanceUpdate with
      // ModifyInstanceMaintenanceOptions, then waitInstanceMaintenanceOptionsAutoRecoveryUpdated polls DescribeInstances;
      // resourceInstanceRead reads it back from DescribeInstances, so a recovery turned on outside Terraform shows as drift.
      ...(props.automaticRecovery === false ? { maintenanceOptions: { autoRecovery: "disabled" } } : {}),
      // Basic (5-minute) monitoring: status-check alarms and CPU credits need no more, and detailed costs per instance.
      metadataOptions: { httpTokens: "required", httpEndpoint: "enabled", httpPutResponseHopLimit: 1 },
      rootBlockDevice: {
        volumeType: "gp3",
        volumeSize: props.rootVolumeGiB ?? 30,
        encrypted: true,
        kmsKeyId: props.kmsKeyArn,
        deleteOnTermination: true,
        tags: { ...tags, Name: `${tags.Name}-root` },
      },
      ...(props.userData ? { userData: props.userData(this.chainVolume?.id) } : {}),
      ...(props.userDataBase64 ? { userDataBase64: props.userDataBase64 } : {}),
      tags,
      lifecycle: { ignoreChanges: ["ami", "user_data", "user_data_base64"] },
    });

    if (this.chainVolume) {
      new VolumeAttachment(this, "chain-db-attachment", {
        deviceName: CHAIN_VOLUME_DEVICE,
        volumeId: this.chainVolume.id,
        instanceId: this.instance.id,
        // Detaching a mounted database volume would corrupt it: stop the instance first.
        stopInstanceBeforeDetaching: true,
      });
    }

    if (props.elasticIp) {
      this.elasticIp = new Eip(this, "eip", { domain: "vpc", instance: this.instance.id, tags });
    }
  }

  get publicIp(): string | undefined {
    return this.elasticIp?.publicIp;
  }
}
