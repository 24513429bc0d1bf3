/**
 * The lab's long-lived process (one per lab, in the machine's root namespace): the lab's AWS account and its
 * datacenter. It runs
 * - the AWS emulator (moto, lab/emulator/moto_lab.py) on a loopback port for the operator's pool-ops and Terraform,
 *   and on a Unix socket for the VPC's endpoints;
 * - the hypervisor that turns the emulator's EC2 calls into lab machines (lab/machines/hypervisor.ts);
 * - the VPC's services inside the router namespace (lab/services/vpc-services.ts);
 * - a caching proxy of Debian's archive for instances with an internet route (lab/services/package-proxy.ts);
 * - a control socket for the lab's own requests (register an image, shut down).
 *
 * Usage: node --import tsx/esm lab/supervisor.ts <lab dir>   (labUp starts it detached; labDown stops it)
 */
import { spawn, type ChildProcess } from "node:child_process";
import { connect as connectTcp, createServer, type Socket } from "node:net";
import { readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startAwsEmulator } from "./aws-emulator";
import { Hypervisor } from "./machines/hypervisor";
import { startPackageProxy } from "./services/package-proxy";
import type { VpcServicesConfig } from "./services/vpc-services";
import { supervisorFiles, type SupervisorConfig, type SupervisorStatus } from "./supervisor-files";

async function main(labDir: string): Promise<void> {
  const files = supervisorFiles(labDir);
  const config = JSON.parse(readFileSync(files.config, "utf8")) as SupervisorConfig;
  const log = (line: string) => process.stdout.write(`${new Date().toISOString()} ${line}\n`);

  const hypervisor = new Hypervisor({
    labId: config.labId,
    poolName: config.poolName,
    labDir,
    vpc: config.vpc,
    vpcCidr: config.vpcCidr,
    subnets: config.subnets,
    baseLayers: config.baseLayers,
    log,
  });
  await hypervisor.listen(files.hooks);
  rmSync(files.aws, { force: true });
  const emulator = await startAwsEmulator({ hooksSocket: files.hooks, unixSocket: files.aws, log: (chunk) => process.stdout.write(chunk.replace(/^(?=.)/gm, "[aws] ")) });
  const packages = await startPackageProxy({ socketPath: files.packages, cacheDir: config.packageCacheDir, log });
  // The operator's way to the lab's AWS: a loopback port in front of the emulator, so a test can make AWS unreachable
  // for pool-ops (an outage, a revoked network path) while the instances' endpoints keep working.
  let awsReachable = true;
  const open = new Set<Socket>();
  const operatorAws = createServer((client) => {
    if (!awsReachable) return client.destroy();
    const upstream = connectTcp(emulator.port, "127.0.0.1");
    open.add(client);
    client.on("close", () => open.delete(client));
    client.pipe(upstream).pipe(client);
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on("error", end);
    upstream.on("error", end);
  });
  await new Promise<void>((resolve) => operatorAws.listen(0, "127.0.0.1", resolve));
  const operatorPort = (operatorAws.address() as { port: number }).port;

  const servicesConfig: VpcServicesConfig = { ...config.services, awsSocket: files.aws, packagesSocket: files.packages, machinesFile: hypervisor.recordsFile };
  writeFileSync(files.services, `${JSON.stringify(servicesConfig, null, 2)}\n`);
  const services: ChildProcess = spawn(
    "ip",
    ["netns", "exec", config.vpc.namespace, process.execPath, "--import", import.meta.resolve("tsx/esm"), join(import.meta.dirname, "services", "vpc-services.ts"), files.services],
    { stdio: ["ignore", "inherit", "inherit"] },
  );

  let stopping = false;
  const shutdown = async (why: string) => {
    if (stopping) return;
    stopping = true;
    log(`shutting down (${why})`);
    await hypervisor.shutdown().catch((error: Error) => log(`hypervisor shutdown: ${error.message}`));
    services.kill("SIGTERM");
    operatorAws.close();
    await emulator.stop();
    packages.close();
    rmSync(files.status, { force: true });
    process.exit(0);
  };
  services.on("exit", (code) => {
    if (!stopping) log(`vpc services exited (${code}); the VPC's metadata, DNS and endpoints are gone`);
  });

  rmSync(files.control, { force: true });
  const control = createServer((socket) => {
    let buffer = "";
    socket.on("data", (chunk) => {
      buffer += chunk.toString();
      if (!buffer.includes("\n")) return;
      const request = JSON.parse(buffer.slice(0, buffer.indexOf("\n"))) as { op: string; imageId?: string; layers?: string[] };
      buffer = "";
      try {
        if (request.op === "register-image" && request.imageId && request.layers) hypervisor.registerImage(request.imageId, request.layers);
        else if (request.op === "aws-outage" || request.op === "aws-restored") {
          awsReachable = request.op === "aws-restored";
          if (!awsReachable) for (const client of open) client.destroy();
          log(`operator's AWS endpoint ${awsReachable ? "restored" : "made unreachable"}`);
        }
        else if (request.op === "shutdown") {
          socket.end(`${JSON.stringify({ ok: true })}\n`);
          void shutdown("asked by the lab");
          return;
        } else if (request.op !== "ping") throw new Error(`unknown request ${request.op}`);
        socket.end(`${JSON.stringify({ ok: true })}\n`);
      } catch (error) {
        socket.end(`${JSON.stringify({ error: (error as Error).message })}\n`);
      }
    });
    socket.on("error", () => undefined);
  });
  await new Promise<void>((resolve) => control.listen(files.control, resolve));
  for (const signal of ["SIGTERM", "SIGINT"] as const) process.on(signal, () => void shutdown(signal));

  const status: SupervisorStatus = { pid: process.pid, awsEndpoint: `http://127.0.0.1:${operatorPort}`, controlSocket: files.control };
  // Written whole, by rename: lab up reads it as soon as it exists.
  writeFileSync(`${files.status}.tmp`, `${JSON.stringify(status)}\n`);
  renameSync(`${files.status}.tmp`, files.status);
  log(`lab ${config.labId}: AWS emulator at ${emulator.endpoint}; hypervisor ready`);
}

main(process.argv[2] as string).catch((error: Error) => {
  process.stderr.write(`lab supervisor: ${error.stack ?? error.message}\n`);
  process.exit(1);
});
