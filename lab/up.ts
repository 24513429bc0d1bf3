/**
 * `npm run lab:up [-- --id ID] [--relays N] [--sandbox] [--operator-rtt-ms MS] [--private-rtt-ms MS]`: brings a lab up
 * (booted Debian machines from the pool's synthesised user data) and prints how to use it. Needs root.
 */
import { parseArgs } from "node:util";
import { labUp, labUnavailableReason, labUsage } from "./lab";
import { setLatency } from "./lab-hosts";

const { values } = parseArgs({
  options: {
    id: { type: "string" },
    relays: { type: "string" },
    sandbox: { type: "boolean" },
    "operator-rtt-ms": { type: "string" },
    "private-rtt-ms": { type: "string" },
  },
});
const why = labUnavailableReason();
if (why) {
  console.error(`lab:up: ${why}`);
  process.exit(2);
}
const number = (v: string | undefined) => (v === undefined ? undefined : Number(v));
try {
  const started = Date.now();
  const state = await labUp({ id: values.id ?? process.env.LAB_ID, relays: number(values.relays), sandbox: values.sandbox, log: (line) => console.log(`lab:up: ${line}`) });
  const operatorRttMs = number(values["operator-rtt-ms"]);
  const privateRttMs = number(values["private-rtt-ms"]);
  if (operatorRttMs || privateRttMs) setLatency(state, { operatorRttMs, privateRttMs });
  console.log(labUsage(state));
  console.log(`(up in ${((Date.now() - started) / 1000).toFixed(0)} s)`);
} catch (error) {
  console.error(`lab:up: ${(error as Error).message}`);
  process.exit(1);
}
