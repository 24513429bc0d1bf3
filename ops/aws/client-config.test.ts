/** Endpoint rules: an emulator only on loopback, a private endpoint only as an AWS VPC endpoint name over https. */
import { describe, expect, it } from "vitest";
import { AwsEndpointError, awsClientSettings, checkEmulatorEndpoint, checkPrivateEndpoint, privateEndpointsByService } from "./client-config";

const VPCE = "https://vpce-0123456789abcdef0-abcd1234.secretsmanager.eu-west-1.vpce.amazonaws.com";

describe("emulator endpoints", () => {
  it("accepts loopback with a port: 127.0.0.1, localhost, [::1], http or https", () => {
    for (const ok of ["http://127.0.0.1:5000", "http://localhost:5000/", "http://[::1]:5000", "https://127.0.0.1:4566"]) expect(checkEmulatorEndpoint(ok)).toBe(ok);
  });

  it("refuses every address that is not loopback, naming the flag and what is accepted", () => {
    for (const bad of ["http://192.0.2.2:9", "http://0.0.0.0:5000", "http://10.0.0.5:5000", "http://localhost.example.com:5000", "http://127.0.0.1.nip.io:5000", "http://127.0.0.2:5000", "http://[::ffff:192.0.2.2]:9"]) {
      expect(() => checkEmulatorEndpoint(bad, "--aws-endpoint"), bad).toThrow(AwsEndpointError);
    }
    expect(() => checkEmulatorEndpoint("http://192.0.2.2:9", "--aws-endpoint")).toThrow(/--aws-endpoint "http:\/\/192\.0\.2\.2:9": an emulator endpoint must be on loopback/);
  });

  it("refuses a loopback URL without a port, with credentials, a path or another scheme", () => {
    for (const bad of ["http://127.0.0.1", "http://user:pw@127.0.0.1:5000", "http://127.0.0.1:5000/x", "http://127.0.0.1:5000/?a=1", "ftp://127.0.0.1:21", "127.0.0.1:5000"]) {
      expect(() => checkEmulatorEndpoint(bad), bad).toThrow(AwsEndpointError);
    }
  });

  it("awsClientSettings refuses a foreign emulator endpoint before a client exists", () => {
    expect(() => awsClientSettings({ region: "eu-west-1", endpoint: "http://192.0.2.2:9" })).toThrow(AwsEndpointError);
    expect(awsClientSettings({ region: "eu-west-1", endpoint: "http://127.0.0.1:5000" })).toMatchObject({ endpoint: "http://127.0.0.1:5000", credentials: { accessKeyId: "test" } });
  });
});

describe("private AWS endpoints (--aws-private-endpoint)", () => {
  it("accepts a regional or zonal VPC endpoint name of a service pool-ops calls, in the pool's region", () => {
    expect(checkPrivateEndpoint(VPCE, "eu-west-1")).toEqual({ service: "secretsmanager", url: "https://vpce-0123456789abcdef0-abcd1234.secretsmanager.eu-west-1.vpce.amazonaws.com" });
    expect(checkPrivateEndpoint("https://vpce-0123456789abcdef0-abcd1234-eu-west-1a.ec2.eu-west-1.vpce.amazonaws.com:443", "eu-west-1").service).toBe("ec2");
  });

  it("refuses http, another region, an unknown service and names that are not AWS endpoints", () => {
    expect(() => checkPrivateEndpoint(VPCE.replace("https", "http"), "eu-west-1")).toThrow(/must use https/);
    expect(() => checkPrivateEndpoint(VPCE, "us-east-1")).toThrow(/in eu-west-1, the pool in us-east-1/);
    expect(() => checkPrivateEndpoint(VPCE.replace("secretsmanager", "s3"), "eu-west-1")).toThrow(/service s3 is not one pool-ops calls/);
    for (const bad of ["https://secretsmanager.eu-west-1.amazonaws.com.evil.example", "https://vpce-0123456789abcdef0-abcd1234.secretsmanager.eu-west-1.vpce.amazonaws.com.evil.example", "https://192.0.2.2", `${VPCE}:8443`, `${VPCE}/path`]) {
      expect(() => checkPrivateEndpoint(bad, "eu-west-1"), bad).toThrow(AwsEndpointError);
    }
  });

  it("a client that names its service goes to its private endpoint with the standard credentials; others to the regional one", () => {
    const target = { region: "eu-west-1", privateEndpoints: privateEndpointsByService([VPCE], "eu-west-1") };
    const secrets = awsClientSettings(target, "secretsmanager");
    expect(secrets.endpoint).toBe(VPCE);
    expect(secrets.credentials).toBeUndefined();
    expect(awsClientSettings(target, "ec2").endpoint).toBeUndefined();
  });

  it("a client that does not name its service cannot honour one, and says so instead of going public", () => {
    const target = { region: "eu-west-1", privateEndpoints: { secretsmanager: VPCE } };
    expect(() => awsClientSettings(target)).toThrow(/does not name its service, so --aws-private-endpoint cannot apply/);
    expect(() => awsClientSettings({ ...target, endpoint: "http://127.0.0.1:5000" }, "secretsmanager")).toThrow(/exclude each other/);
  });

  it("two different endpoints for one service are refused", () => {
    expect(() => privateEndpointsByService([VPCE, VPCE.replace("abcd1234", "ffff0000")], "eu-west-1")).toThrow(/two endpoints for secretsmanager/);
  });
});
