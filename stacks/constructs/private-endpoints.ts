/**
 * AWS APIs for the producer tier without an internet route: interface endpoints (private DNS, so the standard API
 * names resolve to them VPC-wide) in the producer subnets, and an S3 gateway endpoint on the producer route tables.
 *
 * Every endpoint network interface sits at a pinned address (config/address-plan.ts, `endpointAddresses`): left to
 * AWS, an interface takes any free address of its subnet and can take a producer's fixed address first. Every endpoint
 * has a policy: only principals of the pool's own account, and through the Secrets Manager endpoint only the pool's
 * own secrets — a stolen credential of another account cannot use the pool's private path to AWS.
 *
 * Cost: see `npm run cost` (an interface endpoint is billed per AZ and hour, plus data).
 */
import { DataAwsCallerIdentity } from "@cdktf/provider-aws/lib/data-aws-caller-identity";
import { SecurityGroup } from "@cdktf/provider-aws/lib/security-group";
import { VpcEndpoint } from "@cdktf/provider-aws/lib/vpc-endpoint";
import { VpcSecurityGroupIngressRule } from "@cdktf/provider-aws/lib/vpc-security-group-ingress-rule";
import { Construct } from "constructs";
import { resourceName } from "../../config/names";
import type { InterfaceEndpointService } from "../../config/schema";
import { endpointPolicy } from "./endpoint-policies";

/** A producer subnet and the pinned address of each endpoint's interface in it. */
export interface EndpointSubnet {
  readonly subnetId: string;
  readonly addresses: Readonly<Partial<Record<InterfaceEndpointService, string>>>;
}

export interface PrivateEndpointsProps {
  readonly poolName: string;
  readonly region: string;
  readonly vpcId: string;
  readonly vpcCidr: string;
  /** Subnets that hold the endpoint interfaces (the producer subnets), with every service's address in each. */
  readonly subnets: readonly EndpointSubnet[];
  /** Route tables that get the S3 gateway route (the producer route tables). */
  readonly routeTableIds: string[];
  /** @default secretsmanager, ssm, ssmmessages, ec2messages, kms, logs, monitoring */
  readonly services: readonly InterfaceEndpointService[];
}

export class PrivateEndpoints extends Construct {
  readonly securityGroup: SecurityGroup;
  readonly interfaceEndpoints = new Map<InterfaceEndpointService, VpcEndpoint>();
  readonly s3: VpcEndpoint;

  constructor(scope: Construct, id: string, props: PrivateEndpointsProps) {
    super(scope, id);
    const name = (...parts: string[]) => resourceName(props.poolName, ...parts);
    const accountId = new DataAwsCallerIdentity(this, "account").accountId;

    this.securityGroup = new SecurityGroup(this, "sg", {
      // A prefix, not a fixed name: a replacement is created before the old group goes, and names must be unique.
      namePrefix: `${name("endpoints")}-`,
      description: "Interface VPC endpoints: HTTPS from inside the VPC only",
      vpcId: props.vpcId,
      tags: { Name: name("endpoints"), Role: "endpoints" },
      lifecycle: { createBeforeDestroy: true },
    });
    // Private DNS makes every tier's AWS API calls land here, so the whole VPC (and only the VPC) may connect.
    new VpcSecurityGroupIngressRule(this, "https-from-vpc", {
      securityGroupId: this.securityGroup.id,
      description: "AWS API calls from every tier of the pool",
      ipProtocol: "tcp",
      fromPort: 443,
      toPort: 443,
      cidrIpv4: props.vpcCidr,
    });

    for (const service of props.services) {
      const subnetConfiguration = props.subnets.map((subnet) => {
        const ipv4 = subnet.addresses[service];
        if (!ipv4) throw new Error(`PrivateEndpoints: no address planned for the ${service} endpoint in subnet ${subnet.subnetId}`);
        return { subnetId: subnet.subnetId, ipv4 };
      });
      this.interfaceEndpoints.set(
        service,
        new VpcEndpoint(this, `endpoint-${service}`, {
          vpcId: props.vpcId,
          serviceName: `com.amazonaws.${props.region}.${service}`,
          vpcEndpointType: "Interface",
          privateDnsEnabled: true,
          subnetIds: props.subnets.map((s) => s.subnetId),
          subnetConfiguration,
          securityGroupIds: [this.securityGroup.id],
          policy: endpointPolicy(service, { poolName: props.poolName, region: props.region, accountId }),
          tags: { Name: name(`endpoint-${service}`), Role: "network" },
        }),
      );
    }

    this.s3 = new VpcEndpoint(this, "endpoint-s3", {
      vpcId: props.vpcId,
      serviceName: `com.amazonaws.${props.region}.s3`,
      vpcEndpointType: "Gateway",
      routeTableIds: props.routeTableIds,
      policy: endpointPolicy("s3", { poolName: props.poolName, region: props.region, accountId }),
      tags: { Name: name("endpoint-s3"), Role: "network" },
    });
  }

  /** The endpoint id of a service, for `aws:SourceVpce` conditions. */
  endpointId(service: InterfaceEndpointService): string | undefined {
    return this.interfaceEndpoints.get(service)?.id;
  }
}
