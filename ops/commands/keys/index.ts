/**
 * `pool-ops keys`: generate a test-network key set, issue an op cert (cardano-cli compatible), import a key set
 * into Secrets Manager, show what a key set or the pool's secrets hold. One module per job, each a plain async
 * function with injected I/O (files, clock, secret store); `keysCommand()` (command.ts) wires them to commander.
 *
 * The cold signing key is only ever read from a file into a byte array that is wiped after use (`issue-opcert`,
 * `import`), or made by `generate`, whose explicit output is the only file it is written to. It is never printed or
 * logged. Signing with the pool's secret is not done here: that is the signer child's (ops/cold-signer).
 */
export { KeysCommandError } from "./errors";
export { KEY_FILE_NAMES, nodeKeysIo, type KeysIo } from "./key-files";
export { generateKeySet, type GenerateOptions, type GenerateResult } from "./generate";
export { issueOpcertFiles, type IssueOpcertOptions, type IssueOpcertResult } from "./issue-opcert";
export { importFilesIn, importKeys, type ImportEntry, type ImportFiles, type ImportOptions, type ImportResult } from "./import";
export { formatKeySummary, showFilesIn, showKeys, type KeySummary, type ShowSource } from "./show";
export { keysCommand, type KeysCommandDeps } from "./command";
