/**
 * The golden images a rollout puts on the nodes: `--image` for both roles, else the AMIs recorded in
 * `/<pool>/ami/relay` and `/<pool>/ami/producer` (what `image bake` wrote). New instances start from the parameters,
 * so an `--image` that differs (a rollback to an earlier AMI, say) is recorded there before any node is replaced.
 */
import { poolParameterNames } from "../../config/names";
import type { GoldenImages } from "../aws/golden-images";
import { OpsError } from "../remote/result";

type NodeRole = "relay" | "producer";

export interface TargetImages {
  readonly images: Record<NodeRole, string>;
  /** The roles whose parameter must be changed to `--image`. */
  readonly toRecord: readonly NodeRole[];
  readonly parameterOf: (role: NodeRole) => string;
  /** "; record it in … first", or "" when the parameters already say so. */
  readonly recordNote: string;
  record(): Promise<void>;
}

export async function resolveImages(images: GoldenImages, pool: string, image: string | undefined): Promise<TargetImages> {
  const parameterOf = poolParameterNames(pool).goldenAmi;
  const recorded = { relay: await images.readParameter(parameterOf("relay")), producer: await images.readParameter(parameterOf("producer")) };
  const wanted = { relay: image ?? recorded.relay, producer: image ?? recorded.producer };
  const toRecord = (["relay", "producer"] as const).filter((role) => image && recorded[role] !== image);
  for (const [role, id] of Object.entries(wanted)) {
    if (!id) throw new OpsError("-", "preflight", `no golden image: ${parameterOf(role as NodeRole)} is not set`, "bake one first: pool-ops image bake --node-version X");
    await images.waitAvailable(id, 0).catch((error: Error) => {
      throw new OpsError("-", "preflight", `image ${id} (${role}) is not usable: ${error.message}`, "bake again, or give --image with an available AMI");
    });
  }
  const recordNote = toRecord.length > 0 ? `; record it in ${toRecord.map((r) => `${parameterOf(r)} (now ${recorded[r] ?? "unset"})`).join(" and ")} first` : "";
  return {
    images: wanted as Record<NodeRole, string>,
    toRecord,
    parameterOf,
    recordNote,
    async record() {
      for (const role of toRecord) await images.writeParameter(parameterOf(role), image!);
    },
  };
}
