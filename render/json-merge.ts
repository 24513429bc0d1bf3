/**
 * How a host's node files are made from the release's: the release file with its relative file references made
 * absolute (they point into the installed release), then the pool's overlay applied as a JSON Merge Patch (RFC 7386:
 * objects merge key by key, `null` removes a key, anything else replaces). The same two rules run at boot on the host
 * (stacks/boot/compose-node-files.py); a test checks both agree.
 */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

function isObject(value: Json | undefined): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** RFC 7386 section 2, MergePatch(Target, Patch). */
export function mergePatch(target: Json | undefined, patch: Json): Json {
  if (!isObject(patch)) return patch;
  const result: JsonObject = isObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = mergePatch(result[key], value);
  }
  return result;
}

/**
 * Top-level `…File` keys holding a relative path, made absolute against the release's directory. cardano-node
 * resolves them against the directory of the file naming them (`Configuration/POM.hs` `adjustFilePaths`,
 * `Configuration/TopologyP2P.hs` `readTopologyFile`); the composed file lives elsewhere, so they must be absolute.
 */
export function rebaseFilePaths(document: JsonObject, releaseDir: string): JsonObject {
  const result: JsonObject = { ...document };
  for (const [key, value] of Object.entries(document)) {
    if (/File$/.test(key) && typeof value === "string" && value.length > 0 && !value.startsWith("/")) result[key] = `${releaseDir.replace(/\/+$/, "")}/${value}`;
  }
  return result;
}

/** The host's file: release file, references rebased, overlay applied. */
export function composeNodeFile(release: JsonObject, releaseDir: string, overlay: JsonObject): JsonObject {
  return mergePatch(rebaseFilePaths(release, releaseDir), overlay) as JsonObject;
}
