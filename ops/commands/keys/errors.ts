/** What the keys commands say when something is wrong that is not in a key's bytes (KeyMaterialError is for those). */
import { poolIdBech32 } from "../../cardano";

/** A usage or state error of a keys command (not about the bytes of a key): message says what to do. */
export class KeysCommandError extends Error {
  override readonly name = "KeysCommandError";
}


/** A cold verification key as messages name it: its pool. */
export function describeCold(vk: Uint8Array): string {
  return `pool ${poolIdBech32(vk)}`;
}
