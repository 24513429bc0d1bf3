/** A host's release, read the way pool-ops reads it (ops/pool/release-facts.py on a temp copy of a lab release). */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { CardanoNetwork } from "../config/networks";
import { writeReleaseShare, type ShareFilesOptions } from "../lab/release-fixtures";
import { ReleaseFactsSchema, type ReleaseFacts } from "../render/release-files";

const FACTS_SCRIPT = join(import.meta.dirname, "..", "ops", "pool", "release-facts.py");

export function releaseFactsOf(dir: string): ReleaseFacts {
  return ReleaseFactsSchema.parse(JSON.parse(execFileSync("python3", [FACTS_SCRIPT, dir], { encoding: "utf8" })));
}

/** Writes a lab release's share/<network>/ to a temp dir and reads its facts. */
export function labReleaseFacts(network: CardanoNetwork, version: string, options: ShareFilesOptions = {}): ReleaseFacts {
  const root = mkdtempSync(join(tmpdir(), "share-"));
  return releaseFactsOf(writeReleaseShare(root, network, version, options));
}

export function readJson(path: string): unknown {
  return JSON.parse(readFileSync(path, "utf8"));
}
