// Types of node-runtime.mjs (plain JavaScript, used before any TypeScript can run).
export declare const SUPPORTED_NODE_RANGE: string;
export declare const SUPPORTED_NODE: string;
export declare function isSupportedNode(version: string): boolean;
export declare function portableNodePackage(platform?: NodeJS.Platform, arch?: NodeJS.Architecture): string | undefined;
export interface PortableNode {
  /** Absolute path of the executable (node_modules/<package>/bin/node). */
  readonly binary: string;
  /** Its Node version, e.g. "24.22.3". */
  readonly version: string;
  readonly packageName: string;
}
export declare function portableNode(root: string, platform?: NodeJS.Platform, arch?: NodeJS.Architecture): PortableNode;
