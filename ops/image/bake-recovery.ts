/**
 * An image bake that was killed (SIGKILL, a lost laptop) left its journal beside the lease. What it may have left:
 * the sandbox running (cost only: it holds no keys), an image made but not recorded, or — killed between the two
 * parameter writes — the relay parameter naming the new image and the producer parameter the old one, so new relays
 * and new producers would start from different images. The next changing command finishes it as the bake intended:
 * an image that was made (only after every check passed) is recorded in both parameters once available; the sandbox
 * is stopped.
 */
import type { GoldenImages } from "../aws/golden-images";
import type { JournalEntry } from "../lease/pool-journal";

/** The journal's facts of a bake (public: instance and image ids, parameter names). */
export interface BakeFacts {
  readonly sandbox: string;
  readonly sandboxName: string;
  readonly parameters: Readonly<Record<"relay" | "producer", string>>;
  /** Set before the image is asked for, so an image made just before a kill is found by its name. */
  readonly imageName?: string;
  readonly imageId?: string;
}

export const BAKE_COMMAND = "image bake";

export type BakeImages = Pick<GoldenImages, "imageNamed" | "waitAvailable" | "readParameter" | "writeParameter" | "stop">;

export function bakeFacts(entry: JournalEntry): BakeFacts {
  const f = entry.facts as Partial<BakeFacts>;
  if (typeof f.sandbox !== "string" || typeof f.sandboxName !== "string" || typeof f.parameters?.relay !== "string" || typeof f.parameters?.producer !== "string") {
    throw new Error(`the interrupted image bake's journal lacks its sandbox or parameter names (${JSON.stringify(entry.facts)})`);
  }
  return f as BakeFacts;
}

/** Finishes an interrupted bake; resolves to what it did, one line each. */
export async function finishInterruptedBake(facts: BakeFacts, images: BakeImages, timeoutMs: number): Promise<string[]> {
  const done: string[] = [];
  const imageId = facts.imageId ?? (facts.imageName ? await images.imageNamed(facts.imageName) : undefined);
  if (imageId) {
    let available = true;
    try {
      await images.waitAvailable(imageId, timeoutMs);
    } catch (error) {
      available = false;
      done.push(`its image ${imageId} is not usable (${(error as Error).message}): not recorded; the AMI parameters are unchanged`);
    }
    if (available) {
      const written: string[] = [];
      for (const name of [facts.parameters.relay, facts.parameters.producer]) {
        if ((await images.readParameter(name)) === imageId) continue;
        await images.writeParameter(name, imageId);
        written.push(name);
      }
      done.push(written.length > 0 ? `its image ${imageId} recorded in ${written.join(" and ")}` : `its image ${imageId} was already recorded in both parameters`);
    }
  } else done.push("it had made no image: the AMI parameters are unchanged");
  await images.stop(facts.sandbox, timeoutMs);
  done.push(`${facts.sandboxName} stopped`);
  return done;
}
