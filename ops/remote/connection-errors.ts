/**
 * How connection and command failures read: each names the host, the step and the remedy (conventions: errors name
 * the host, the step and the remedy; no stack traces for expected failures).
 */
import type { CommandResult, ConnectionSettings, HostTarget } from "./connection";
import { describeRefusal, type HostKeyVerdict } from "./host-keys";
import { describeAuth } from "./operator-identity";
import { HostKeyRefused, OpsError } from "./result";

/** A failed connect as the operator should read it: a refused host key, a refused login, no algorithm, no answer. */
export function describeConnectError(target: HostTarget, settings: ConnectionSettings, gateway: string | undefined, error: Error, verdict: HostKeyVerdict | undefined): OpsError {
  const where = `${target.address}:${target.port}${gateway ? ` via ${gateway}` : ""}`;
  const name = target.name;
  if (verdict && verdict.kind !== "trusted" && verdict.kind !== "recorded") {
    const { message, remedy } = describeRefusal(target, verdict, settings.hostKeys.options.knownHostsFile);
    return new HostKeyRefused(name, message, remedy, verdict.kind, verdict.fingerprint);
  }
  const text = error.message ?? String(error);
  if (/authentication methods failed/i.test(text)) {
    return new OpsError(
      name,
      "authenticate",
      `${settings.user}@${where}: the server refused our ${settings.auth.kind === "agent" ? "ssh-agent's keys" : "key"} (${describeAuth(settings.auth)})`,
      `check --identity / --user and that the key is in ${settings.user}'s authorized_keys on ${target.name} (ssh.authorizedKeys, or ssh.tierAuthorizedKeys for its tier, in the pool config)`,
      "unreachable",
    );
  }
  if (/no mutual|handshake failed|algorithm/i.test(text)) {
    return new OpsError(
      name,
      "connect",
      `${where}: no SSH algorithm in common (${text}); pool-ops refuses ssh-rsa (SHA-1) host key signatures and hmac-sha1`,
      `give ${target.name}'s sshd an ed25519 host key (Debian's default), or a modern OpenSSH`,
      "unreachable",
    );
  }
  if (/timed out|ETIMEDOUT|No response/i.test(text)) {
    return new OpsError(
      name,
      "connect",
      `no SSH answer from ${where} within ${settings.connectTimeoutMs / 1000} s`,
      `check that ${target.name} is running and its security group allows SSH${gateway ? ` from ${gateway}` : ""}`,
      "unreachable",
    );
  }
  return new OpsError(name, "connect", `${where}: ${text}`, `check that ${target.name} is running and reachable`, "unreachable");
}

export function commandFailure(host: string, step: string, result: CommandResult, remedy: string | undefined, timeoutSeconds: number): OpsError {
  const stderr = result.stderr.trim();
  if (/sudo: a (terminal|password) is required/.test(stderr)) {
    return new OpsError(host, step, `sudo needs a password on ${host}`, "give the login user passwordless sudo (NOPASSWD), or set ssh.sudo: false in the pool config");
  }
  if (result.exitCode === 124 || result.exitCode === 137) {
    return new OpsError(host, step, `\`${result.command}\` timed out after ${timeoutSeconds} s and was stopped`, "raise ssh.commandTimeoutSeconds if the step needs longer, or look at why it hangs");
  }
  const detail = stderr ? `: ${stderr.split("\n").slice(-3).join(" | ")}` : "";
  return new OpsError(host, step, `\`${result.command}\` exited ${result.exitCode}${detail}`, remedy ?? "see the command's output above");
}
