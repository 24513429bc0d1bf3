/**
 * `npm run doctor`: what this machine has and lacks for each job (synth, deploy, operate, lab, booted-lab), with the
 * command that fixes each gap. Looks only; changes nothing and reaches no network.
 *
 *   npm run doctor                      every job
 *   npm run doctor -- operate deploy    only these jobs
 *   npm run doctor -- --json            the report as JSON
 *
 * Exit codes: 0 every job asked about is ready, 1 a requirement of one is missing, 2 bad usage.
 */
import { parseArgs } from "node:util";
import { diagnose, formatReport, JOB_IDS, type JobId } from "./doctor/jobs";
import { localMachine, localProject, type Machine, type Project } from "./doctor/machine";

export interface DoctorOutput {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export function runDoctor(argv: readonly string[], machine: Machine, project: () => Project): DoctorOutput {
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], allowPositionals: true, options: { json: { type: "boolean" }, help: { type: "boolean", short: "h" } } });
  } catch (error) {
    return { code: 2, stdout: "", stderr: `doctor: ${(error as Error).message}\n` };
  }
  const usage = `usage: npm run doctor -- [--json] [${JOB_IDS.join(" | ")} ...]\n`;
  if (parsed.values.help) return { code: 0, stdout: usage, stderr: "" };
  const unknown = parsed.positionals.filter((job) => !(JOB_IDS as string[]).includes(job));
  if (unknown.length > 0) return { code: 2, stdout: "", stderr: `doctor: unknown job ${unknown.join(", ")}; the jobs are ${JOB_IDS.join(", ")}\n${usage}` };
  const jobs = parsed.positionals.length > 0 ? [...new Set(parsed.positionals as JobId[])] : JOB_IDS;
  const report = diagnose(jobs, machine, project());
  return { code: report.ready ? 0 : 1, stdout: parsed.values.json ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report), stderr: "" };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { code, stdout, stderr } = runDoctor(process.argv.slice(2), localMachine(), localProject);
  process.stdout.write(stdout);
  process.stderr.write(stderr);
  process.exitCode = code;
}
