/**
 * A fresh connection to a host that is starting (a just-started sandbox, a replaced node), retried until its sshd
 * answers through the bastion. A refused host key is not retried: that needs the operator.
 */
import { Connection } from "./connection";
import type { Fleet } from "./fleet";
import type { InventoryHost } from "./inventory";
import { OpsError } from "./result";

export async function connectWhenUp(fleet: Fleet, host: InventoryHost, timeoutMs: number, what = host.name): Promise<Connection> {
  const until = Date.now() + timeoutMs;
  let last: Error | undefined;
  for (;;) {
    const c = new Connection({ name: host.name, role: host.role, address: host.privateIp, port: fleet.connection(host.name).target.port }, fleet.settings, fleet.bastion);
    try {
      await c.runChecked("true", { step: "connect", sudo: false });
      return c;
    } catch (error) {
      await c.close();
      last = error as Error;
      if (error instanceof OpsError && /host key/i.test(error.message)) throw error;
    }
    if (Date.now() > until) throw new OpsError(host.name, "connect", `${what} did not answer SSH within ${Math.round(timeoutMs / 1000)} s: ${last?.message}`, "check the instance's console output in EC2");
    await new Promise((r) => setTimeout(r, 2000));
  }
}
