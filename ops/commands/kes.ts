/**
 * `pool-ops kes status`: for each producer, the op cert it holds (counter, start period, expiry), what its node
 * reports, and the days left. Exit 2 when fewer than `kes.warnDays` remain (for cron), 1 when a producer cannot be
 * read, else 0.
 */
import { Command } from "commander";
import { hostLayout } from "../../config/host-layout";
import { opcertValidity, readOperationalCertificate } from "../cardano";
import { EXIT_HOST_FAILURE, EXIT_OK, opsAction, type OpsContext } from "../context";
import { metricValue, readNodeMetrics } from "../pool/node-metrics";
import { OpsError } from "../remote/result";

export const EXIT_KES_EXPIRING = 2;

interface ProducerKes {
  host: string;
  reachable: boolean;
  certPath?: string;
  counter?: number;
  startPeriod?: number;
  expires?: string;
  daysLeft?: number;
  node?: { forging?: number; currentKesPeriod?: number; certStart?: number; remaining?: number };
  problem?: string;
}

export async function kesStatus(ctx: OpsContext): Promise<number> {
  const config = ctx.config;
  const inventory = await ctx.inventory();
  const layout = hostLayout(config);
  const fleet = await ctx.fleet();
  const now = new Date();
  const rows: ProducerKes[] = await Promise.all(
    inventory.hosts
      .filter((h) => h.role === "producer")
      .map(async (h): Promise<ProducerKes> => {
        const c = fleet.connection(h.name);
        try {
          let certPath = layout.activeCredentials.opcert;
          let text = await c.readText(certPath, { step: "read the op cert" });
          if (text === undefined) {
            certPath = layout.heldCredentials.opcert;
            text = await c.readText(certPath, { step: "read the held op cert" });
          }
          const metrics = await readNodeMetrics(c, layout.nodeConfig, config.node.metricsPort);
          const node = metrics && {
            forging: metricValue(metrics, "forging_enabled"),
            currentKesPeriod: metricValue(metrics, "currentKESPeriod"),
            certStart: metricValue(metrics, "operationalCertificateStartKESPeriod"),
            remaining: metricValue(metrics, "remainingKESPeriods"),
          };
          if (text === undefined) return { host: h.name, reachable: true, ...(node ? { node } : {}), problem: "no op cert on the host" };
          const cert = readOperationalCertificate(text, `${h.name}:${certPath}`);
          const validity = opcertValidity(cert.kesPeriod, now, config.network);
          return {
            host: h.name,
            reachable: true,
            certPath,
            counter: cert.counter,
            startPeriod: cert.kesPeriod,
            expires: validity.expiresAt.toISOString(),
            daysLeft: Math.floor(validity.daysLeft * 10) / 10,
            ...(node ? { node } : {}),
            ...(validity.status !== "valid" ? { problem: `cert ${validity.status}` } : {}),
          };
        } catch (error) {
          return { host: h.name, reachable: !(error instanceof OpsError && error.status === "unreachable"), problem: (error as Error).message };
        }
      }),
  );
  const expiring = rows.filter((r) => r.daysLeft !== undefined && r.daysLeft < config.kes.warnDays);
  const broken = rows.filter((r) => r.problem && r.daysLeft === undefined);
  if (ctx.out.json) ctx.out.data({ warnDays: config.kes.warnDays, producers: rows });
  else {
    for (const r of rows) {
      const node = r.node ? `node: forging ${r.node.forging ?? "?"}, cert from ${r.node.certStart ?? "?"}, ${r.node.remaining ?? "?"} periods left` : "node: no metrics";
      const cert = r.counter !== undefined ? `counter ${r.counter}, from KES period ${r.startPeriod}, expires ${r.expires?.slice(0, 16).replace("T", " ")} UTC (${r.daysLeft} days)` : "no cert";
      const flag = r.problem ? `  ⚠ ${r.problem}` : r.daysLeft !== undefined && r.daysLeft < config.kes.warnDays ? `  ⚠ fewer than ${config.kes.warnDays} days left: pool-ops rotate-kes` : "";
      ctx.out.info(`${r.host.padEnd(11)} ${cert}; ${node}${flag}`);
    }
  }
  if (expiring.length > 0) return EXIT_KES_EXPIRING;
  return broken.length > 0 ? EXIT_HOST_FAILURE : EXIT_OK;
}

export function kesCommand(): Command {
  return new Command("kes")
    .description("KES key and op cert facts of the producers")
    .addCommand(
      new Command("status")
        .description(`per producer: cert counter, start period, expiry and days left, and what the node reports; exit ${EXIT_KES_EXPIRING} when fewer than kes.warnDays remain`)
        .action(opsAction(async (ctx) => kesStatus(ctx))),
    );
}
