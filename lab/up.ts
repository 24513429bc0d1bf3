/**
 * `npm run lab:up [-- --id ID] [--relays N] [--sandbox] [--operator-rtt-ms MS] [--private-rtt-ms MS]`: brings a lab up and prints
 * how to use it. Needs root.
 */
import { parseArgs } from "node:util";
import { labUp, labUnavailableReason, labUsage } from "./lab";

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
  const state = await labUp({
    id: values.id ?? process.env.LAB_ID,
    relays: number(values.relays),
    sandbox: values.sandbox,
    operatorRttMs: number(values["operator-rtt-ms"]),
    privateRttMs: number(values["private-rtt-ms"]),
  });
  console.log(labUsage(state));
} catch (error) {
  console.error(`lab:up: ${(error as Error).message}`);
  process.exit(1);
}
