/**
 * The jobs an operator or developer does with the project, the checks each needs, and the doctor's verdict: a job is
 * ready when none of its checks is missing (a warning does not block it).
 */
import { CHECKS, type CheckId, type CheckResult } from "./checks";
import type { Machine, Project } from "./machine";

export interface Job {
  /** What the job is, as the README names its commands. */
  readonly what: string;
  readonly needs: readonly CheckId[];
}

export const JOBS = {
  synth: { what: "npm run synth: Terraform JSON for the pool", needs: ["node", "dependencies"] },
  deploy: {
    what: "npm run plan, npx cdktf deploy: Terraform against the pool's AWS account",
    needs: ["node", "dependencies", "terraform", "aws-provider", "cdktf-pty", "aws-credentials"],
  },
  operate: {
    what: "pool-ops on a deployed pool (through the bastion, with the operator role)",
    needs: ["node", "dependencies", "pool-config", "inventory", "operator-session", "ssh-key", "known-hosts"],
  },
  lab: {
    what: "bash scripts/test.sh: the AWS emulator (moto) and the SSH lab",
    needs: ["node", "portable-node", "dependencies", "terraform", "aws-provider", "cdktf-pty", "moto", "root", "iproute2", "sshd", "promtool"],
  },
  "booted-lab": {
    what: "the lab's booted Debian 12 hosts (systemd-nspawn), running the portable Node",
    needs: ["root", "portable-node", "systemd-nspawn", "debootstrap"],
  },
} as const satisfies Record<string, Job>;

export type JobId = keyof typeof JOBS;
export const JOB_IDS = Object.keys(JOBS) as JobId[];

export interface CheckReport extends CheckResult {
  readonly id: CheckId;
  readonly title: string;
}

export interface JobReport {
  readonly id: JobId;
  readonly what: string;
  readonly ready: boolean;
  /** Titles of the checks that block it. */
  readonly missing: readonly string[];
}

export interface DoctorReport {
  readonly checks: readonly CheckReport[];
  readonly jobs: readonly JobReport[];
  /** Every job asked about is ready. */
  readonly ready: boolean;
}

/** Runs the checks the chosen jobs need (each once, in the order jobs list them) and judges each job. */
export function diagnose(jobs: readonly JobId[], machine: Machine, project: Project): DoctorReport {
  const results = new Map<CheckId, CheckReport>();
  for (const job of jobs) {
    for (const id of JOBS[job].needs) {
      if (!results.has(id)) results.set(id, { id, title: CHECKS[id].title, ...CHECKS[id].run(machine, project) });
    }
  }
  const reports = jobs.map((id): JobReport => {
    const blocked = JOBS[id].needs.filter((check) => results.get(check)!.status === "missing");
    return { id, what: JOBS[id].what, ready: blocked.length === 0, missing: blocked.map((check) => CHECKS[check].title) };
  });
  return { checks: [...results.values()], jobs: reports, ready: reports.every((j) => j.ready) };
}

const MARK = { ok: "ok     ", warn: "warn   ", missing: "MISSING" } as const;

/** The report for a terminal: a line per check that is fine; what is found and the fix below one that is not; a line per job. */
export function formatReport(report: DoctorReport): string {
  const lines: string[] = [];
  for (const check of report.checks) {
    if (check.status === "ok") {
      lines.push(`${MARK.ok}  ${check.title}: ${check.found}`);
    } else {
      lines.push(`${MARK[check.status]}  ${check.title}`, `           ${check.found}`);
      if (check.fix) lines.push(`           fix: ${check.fix}`);
    }
  }
  lines.push("");
  const jobWidth = Math.max(...report.jobs.map((j) => j.id.length));
  for (const job of report.jobs) {
    lines.push(`${job.id.padEnd(jobWidth)}  ${job.ready ? "ready    " : "NOT READY"}  ${job.what}`);
    if (!job.ready) lines.push(`${" ".repeat(jobWidth + 13)}missing: ${job.missing.join(", ")}`);
  }
  return `${lines.join("\n")}\n`;
}
