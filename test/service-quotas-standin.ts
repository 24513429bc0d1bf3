/**
 * A Service Quotas stand-in in front of the AWS emulator, on loopback only: moto 5.2.1 serves Service Quotas for the
 * `vpc` service alone (moto/servicequotas/models.py, get_service_quota), so the EC2 quotas a deploy runs into —
 * Elastic IPs (L-0263D0A3) and On-Demand Standard vCPUs (L-1216C47A) — cannot be read or set there. This answers
 * GetServiceQuota and GetAWSDefaultServiceQuota for the quotas it is given, exactly as the API answers (JSON 1.1,
 * target prefix `ServiceQuotasV20190624.`; NoSuchResourceException for a quota it does not hold), and forwards every
 * other request unchanged to the emulator. It models the quota only: it enforces nothing at AllocateAddress or
 * RunInstances (moto does not either), so the preflight is what refuses.
 *
 * API reference: https://docs.aws.amazon.com/servicequotas/2019-06-24/apireference/API_GetServiceQuota.html
 */
import { createServer, request as httpRequest, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface StandinQuota {
  readonly serviceCode: string;
  readonly quotaCode: string;
  readonly quotaName: string;
  readonly value: number;
}

/** The two quotas a pool's first deploy meets. */
export const EC2_QUOTA_NAMES: Readonly<Record<string, string>> = {
  "L-0263D0A3": "EC2-VPC Elastic IPs",
  "L-1216C47A": "Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances",
};

export function ec2Quotas(values: Readonly<Record<string, number>>): StandinQuota[] {
  return Object.entries(values).map(([quotaCode, value]) => ({ serviceCode: "ec2", quotaCode, quotaName: EC2_QUOTA_NAMES[quotaCode] ?? quotaCode, value }));
}

export interface ServiceQuotasStandin {
  /** Give this to the pool config as `emulator.endpoint`: every AWS API answers here. */
  readonly endpoint: string;
  stop(): Promise<void>;
}

const TARGET_PREFIX = "ServiceQuotasV20190624.";

function body(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

export async function startServiceQuotasStandin(emulatorEndpoint: string, quotas: readonly StandinQuota[], region = "eu-west-1"): Promise<ServiceQuotasStandin> {
  const upstream = new URL(emulatorEndpoint);
  if (!["127.0.0.1", "localhost"].includes(upstream.hostname)) throw new Error(`the stand-in forwards to loopback only, not ${emulatorEndpoint}`);
  const server: Server = createServer(async (req, res) => {
    const payload = await body(req);
    const target = String(req.headers["x-amz-target"] ?? "");
    if (target.startsWith(TARGET_PREFIX)) {
      const operation = target.slice(TARGET_PREFIX.length);
      const input = JSON.parse(payload.toString("utf8") || "{}") as { ServiceCode?: string; QuotaCode?: string };
      const reply = (status: number, json: unknown) => {
        res.writeHead(status, { "content-type": "application/x-amz-json-1.1" });
        res.end(JSON.stringify(json));
      };
      if (operation !== "GetServiceQuota" && operation !== "GetAWSDefaultServiceQuota") {
        return reply(400, { __type: "InvalidParameterValueException", message: `the stand-in answers GetServiceQuota and GetAWSDefaultServiceQuota only, not ${operation}` });
      }
      const quota = quotas.find((q) => q.serviceCode === input.ServiceCode && q.quotaCode === input.QuotaCode);
      if (!quota) return reply(400, { __type: "NoSuchResourceException", message: `The request failed because the specified service quota ${input.ServiceCode}/${input.QuotaCode} does not exist.` });
      return reply(200, {
        Quota: {
          ServiceCode: quota.serviceCode,
          QuotaCode: quota.quotaCode,
          QuotaName: quota.quotaName,
          QuotaArn: `arn:aws:servicequotas:${region}:123456789012:${quota.serviceCode}/${quota.quotaCode}`,
          Value: quota.value,
          Unit: "None",
          Adjustable: true,
          GlobalQuota: false,
        },
      });
    }
    const forward = httpRequest(
      { hostname: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers: { ...req.headers, host: upstream.host } },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    forward.on("error", (error) => {
      res.writeHead(502, { "content-type": "text/plain" });
      res.end(`service-quotas stand-in: the emulator did not answer: ${error.message}`);
    });
    forward.end(payload);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
