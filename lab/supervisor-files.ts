/** The files through which the lab and its supervisor (lab/supervisor.ts) talk, and the supervisor's config. */
import { join } from "node:path";
import type { HypervisorOptions } from "./machines/hypervisor";
import type { VpcServicesConfig } from "./services/vpc-services";

/** What the supervisor hands its hypervisor, plus its services'. */
export interface SupervisorConfig extends Pick<HypervisorOptions, "labId" | "labDir" | "poolName" | "vpc" | "vpcCidr" | "subnets" | "baseLayers"> {
  readonly packageCacheDir: string;
  readonly services: Omit<VpcServicesConfig, "awsSocket" | "packagesSocket" | "machinesFile">;
}

export interface SupervisorStatus {
  readonly pid: number;
  readonly awsEndpoint: string;
  readonly controlSocket: string;
}

export const supervisorFiles = (labDir: string) => ({
  config: join(labDir, "supervisor.json"),
  status: join(labDir, "run", "supervisor-status.json"),
  log: join(labDir, "supervisor.log"),
  control: join(labDir, "run", "control.sock"),
  hooks: join(labDir, "run", "hooks.sock"),
  aws: join(labDir, "run", "aws.sock"),
  packages: join(labDir, "run", "packages.sock"),
  services: join(labDir, "run", "vpc-services.json"),
});

