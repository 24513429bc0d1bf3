/**
 * AWS APIs for the producer tier without an internet route: interface endpoints (private DNS, so the standard API
 * names resolve to them VPC-wide) in the producer subnets, and an S3 gateway endpoint on the producer route tables.
 *
 * Cost: an interface endpoint costs about USD 0.01 per AZ-hour (~USD 7.30 per AZ per month) plus data; with two
 * producer AZs the default seven endpoints cost ~USD 102 per month. The S3 gateway endpoint is free.
 */
import { SecurityGroup } from "@cdktf/provider-aws/lib/security-group";
import { VpcEndpoint } from "@cdktf/provider-aws/lib/vpc-endpoint";
import { VpcSecurityGroupIngressRule } from "@cdktf/provider-aws/lib/vpc-security-group-ingress-rule";
import { Construct } from "constructs";
import { resourceName } from "../../config/names";
import type { InterfaceEndpointService } from "../../config/schema";

export interface PrivateEndpointsProps {
  readonly poolName: string;
  readonly region: string;
  readonly vpcId: string;
  readonly vpcCidr: string;
  /** Subnets that hold the endpoint interfaces (the producer subnets). */
  readonly subnetIds: string[];
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

    this.securityGroup = new SecurityGroup(this, "sg", {
      name: name("endpoints"),
      description: "Interface VPC endpoints: HTTPS from inside the VPC only",
      vpcId: props.vpcId,
      tags: { Name: name("endpoints"), Role: "endpoints" },
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
      this.interfaceEndpoints.set(
        service,
        new VpcEndpoint(this, `endpoint-${service}`, {
          vpcId: props.vpcId,
          serviceName: `com.amazonaws.${props.region}.${service}`,
          vpcEndpointType: "Interface",
          privateDnsEnabled: true,
          subnetIds: props.subnetIds,
          securityGroupIds: [this.securityGroup.id],
          tags: { Name: name(`endpoint-${service}`), Role: "network" },
        }),
      );
    }

    this.s3 = new VpcEndpoint(this, "endpoint-s3", {
      vpcId: props.vpcId,
      serviceName: `com.amazonaws.${props.region}.s3`,
      vpcEndpointType: "Gateway",
      routeTableIds: props.routeTableIds,
      tags: { Name: name("endpoint-s3"), Role: "network" },
    });
  }

  /** The endpoint id of a service, for `aws:SourceVpce` conditions. */
  endpointId(service: InterfaceEndpointService): string | undefined {
    return this.interfaceEndpoints.get(service)?.id;
  }
}
