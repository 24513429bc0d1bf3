/**
 * One place that builds AWS SDK client settings, so every client of pool-ops honours the same region and (in test
 * mode only) the same loopback emulator endpoint.
 */
export interface AwsTarget {
  readonly region: string;
  /** Emulator endpoint on loopback (moto). Absent for a real pool: the SDK's standard endpoints and credentials. */
  readonly endpoint?: string | undefined;
}

export interface AwsClientSettings {
  region: string;
  endpoint?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string };
  maxAttempts: number;
}

export function awsClientSettings(target: AwsTarget): AwsClientSettings {
  if (!target.endpoint) return { region: target.region, maxAttempts: 3 };
  // The emulator accepts any credentials; fixed ones keep a real profile's keys away from it.
  return {
    region: target.region,
    endpoint: target.endpoint,
    credentials: { accessKeyId: "test", secretAccessKey: "test" },
    maxAttempts: 1,
  };
}
