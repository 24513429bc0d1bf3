/**
 * One place that builds AWS SDK client settings, so every client of pool-ops honours the same region, the same
 * endpoint rules and (in test mode only) the same loopback emulator endpoint.
 *
 * Endpoint rules (why: an endpoint override decides where signed requests, secret values included, are sent — `keys
 * import` sends the cold key): an emulator endpoint is loopback only (`http(s)://127.0.0.1|localhost|[::1]:PORT`);
 * the only other endpoint pool-ops accepts is a VPC interface endpoint of AWS itself, named explicitly
 * (`--aws-private-endpoint https://vpce-….<service>.<region>.vpce.amazonaws.com`), over https, for the pool's region.
 * Both are checked here, before a client exists, so a refused endpoint never receives a request.
 */
export interface AwsTarget {
  readonly region: string;
  /** Emulator endpoint on loopback (moto). Absent for a real pool: the SDK's standard endpoints and credentials. */
  readonly endpoint?: string | undefined;
  /**
   * VPC interface endpoints of AWS services (`--aws-private-endpoint`), by service. A client whose service has one
   * sends its requests there, with the standard credentials. @default none: the SDK's regional endpoints
   */
  readonly privateEndpoints?: Readonly<Partial<Record<AwsService, string>>> | undefined;
}

/** The AWS services pool-ops calls, as they appear in endpoint DNS names. */
export const AWS_SERVICES = ["ec2", "ssm", "secretsmanager", "logs", "sts", "dynamodb"] as const;
export type AwsService = (typeof AWS_SERVICES)[number];

export interface AwsClientSettings {
  region: string;
  endpoint?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string };
  maxAttempts: number;
}

/** An endpoint refused before any request: the message names where it came from and what is accepted. */
export class AwsEndpointError extends Error {
  override name = "AwsEndpointError";
}

const LOOPBACK_HOSTS = new Set(["127.0.0.1", "localhost", "[::1]"]);

function parseUrl(value: string, source: string): URL {
  try {
    return new URL(value);
  } catch {
    throw new AwsEndpointError(`${source} ${JSON.stringify(value)}: not a URL (expected http://127.0.0.1:PORT for an emulator)`);
  }
}

/** Only scheme, host and port: credentials, a path or a query in an endpoint URL are refused, not dropped. */
function refuseExtras(url: URL, value: string, source: string): void {
  if (url.username || url.password || (url.pathname !== "/" && url.pathname !== "") || url.search || url.hash) {
    throw new AwsEndpointError(`${source} ${JSON.stringify(value)}: expected only scheme, host and port (no user, path or query)`);
  }
}

/**
 * An emulator endpoint, checked: loopback only, with an explicit port. Anything else (a LAN address, a public
 * name, 0.0.0.0) is refused — an emulator never needs one, and a request sent there could carry a secret value.
 */
export function checkEmulatorEndpoint(value: string, source = "emulator endpoint"): string {
  const url = parseUrl(value, source);
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new AwsEndpointError(`${source} ${JSON.stringify(value)}: expected http:// or https://`);
  }
  if (!LOOPBACK_HOSTS.has(url.hostname.toLowerCase()) || url.port === "") {
    throw new AwsEndpointError(
      `${source} ${JSON.stringify(value)}: an emulator endpoint must be on loopback (http://127.0.0.1:PORT, http://localhost:PORT or http://[::1]:PORT); ` +
        "for a VPC interface endpoint of AWS itself use --aws-private-endpoint https://vpce-….<service>.<region>.vpce.amazonaws.com",
    );
  }
  refuseExtras(url, value, source);
  return value;
}

/**
 * A VPC interface endpoint's endpoint-specific DNS name: `vpce-<id>-<suffix>[-<az>].<service>.<region>.vpce.amazonaws.com`
 * (AWS PrivateLink documentation, "Accessing an AWS service using an interface VPC endpoint": Regional and zonal
 * endpoint-specific DNS names).
 */
const VPCE_HOST = /^vpce-[0-9a-f]{8,17}-[0-9a-z]{4,8}(?:-[a-z]{2}(?:-gov)?-[a-z]+-\d[a-z])?\.([a-z0-9-]+)\.([a-z]{2}(?:-gov)?-[a-z]+-\d)\.vpce\.amazonaws\.com$/;

/**
 * A `--aws-private-endpoint` URL, checked: https, an AWS VPC endpoint name of a service pool-ops calls, in `region`
 * (undefined: any region, for a check before the pool config is read).
 */
export function checkPrivateEndpoint(value: string, region: string | undefined, source = "--aws-private-endpoint"): { service: AwsService; url: string } {
  const url = parseUrl(value, source);
  if (url.protocol !== "https:") throw new AwsEndpointError(`${source} ${JSON.stringify(value)}: a private AWS endpoint must use https://`);
  if (url.port !== "" && url.port !== "443") throw new AwsEndpointError(`${source} ${JSON.stringify(value)}: expected port 443 (or none)`);
  refuseExtras(url, value, source);
  const match = VPCE_HOST.exec(url.hostname.toLowerCase());
  if (!match) {
    throw new AwsEndpointError(`${source} ${JSON.stringify(value)}: expected a VPC interface endpoint name such as https://vpce-0123456789abcdef0-abcd1234.secretsmanager.${region ?? "eu-west-1"}.vpce.amazonaws.com`);
  }
  const [, service, endpointRegion] = match;
  if (region !== undefined && endpointRegion !== region) throw new AwsEndpointError(`${source} ${JSON.stringify(value)}: the endpoint is in ${endpointRegion}, the pool in ${region}`);
  if (!(AWS_SERVICES as readonly string[]).includes(service!)) {
    throw new AwsEndpointError(`${source} ${JSON.stringify(value)}: service ${service} is not one pool-ops calls (${AWS_SERVICES.join(", ")})`);
  }
  return { service: service as AwsService, url: `https://${url.hostname.toLowerCase()}` };
}

/** The `--aws-private-endpoint` values by service (one per service). */
export function privateEndpointsByService(values: readonly string[], region: string): Partial<Record<AwsService, string>> {
  const byService: Partial<Record<AwsService, string>> = {};
  for (const value of values) {
    const { service, url } = checkPrivateEndpoint(value, region);
    if (byService[service] && byService[service] !== url) throw new AwsEndpointError(`--aws-private-endpoint: two endpoints for ${service} (${byService[service]}, ${url})`);
    byService[service] = url;
  }
  return byService;
}

/**
 * The SDK settings for one client. `service` names the client's AWS service, so that a `--aws-private-endpoint` for
 * it applies; a client that does not name it cannot honour one, and says so rather than silently going public.
 */
export function awsClientSettings(target: AwsTarget, service?: AwsService): AwsClientSettings {
  const privateEndpoints = target.privateEndpoints ?? {};
  if (target.endpoint) {
    if (Object.keys(privateEndpoints).length > 0) throw new AwsEndpointError("--aws-endpoint (an emulator) and --aws-private-endpoint exclude each other");
    // The emulator accepts any credentials; fixed ones keep a real profile's keys away from it.
    return {
      region: target.region,
      endpoint: checkEmulatorEndpoint(target.endpoint),
      credentials: { accessKeyId: "test", secretAccessKey: "test" },
      maxAttempts: 1,
    };
  }
  if (service === undefined) {
    if (Object.keys(privateEndpoints).length > 0) {
      throw new AwsEndpointError(`this command's AWS client does not name its service, so --aws-private-endpoint cannot apply to it: run it without --aws-private-endpoint (private DNS on the interface endpoints reaches them by the standard names)`);
    }
    return { region: target.region, maxAttempts: 3 };
  }
  const chosen = privateEndpoints[service];
  if (!chosen) return { region: target.region, maxAttempts: 3 };
  return { region: target.region, endpoint: checkPrivateEndpoint(chosen, target.region).url, maxAttempts: 3 };
}
