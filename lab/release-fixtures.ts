/**
 * Test tooling: release archives shaped like the real ones (cardano-node's `…-linux.tar.gz` with bin/cardano-node and
 * bin/cardano-cli; node_exporter's `…linux-amd64.tar.gz`), holding small stand-ins that answer `--version`, `--help`
 * and, for node_exporter, serve /metrics. `pool-ops image bake` installs and checks them on the lab's sandbox.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface ReleaseArchive {
  readonly file: string;
  readonly sha256: string;
}

function tarGz(out: string, build: (root: string) => void): ReleaseArchive {
  const root = mkdtempSync(join(tmpdir(), "release-"));
  try {
    build(root);
    execFileSync("tar", ["-czf", out, "-C", root, "."]);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  return { file: out, sha256: createHash("sha256").update(readFileSync(out)).digest("hex") };
}

function executable(path: string, text: string): void {
  mkdirSync(join(path, ".."), { recursive: true });
  writeFileSync(path, text);
  chmodSync(path, 0o755);
}

export function cardanoNodeRelease(dir: string, version: string, cliVersion = "10.11.0.0"): ReleaseArchive {
  return tarGz(join(dir, `cardano-node-${version}-linux.tar.gz`), (root) => {
    executable(
      join(root, "bin", "cardano-node"),
      `#!/bin/sh\ncase "$1 $2" in\n  "--version "*) echo "cardano-node ${version} - linux-x86_64 - ghc-9.6"; echo "git rev 0000000000000000000000000000000000000000" ;;\n  "run --help") echo "Usage: cardano-node run"; ;;\n  *) echo "lab release stand-in: $*" >&2; exit 1 ;;\nesac\n`,
    );
    executable(
      join(root, "bin", "cardano-cli"),
      `#!/bin/sh\ncase "$1" in\n  --version) echo "cardano-cli ${cliVersion} - linux-x86_64 - ghc-9.6" ;;\n  --help) echo "Usage: cardano-cli" ;;\n  *) exit 1 ;;\nesac\n`,
    );
    writeFileSync(join(root, "share-README"), "lab stand-in release\n");
  });
}

export function nodeExporterRelease(dir: string, version: string): ReleaseArchive {
  const server = `require("http").createServer((q, s) => s.end("node_exporter_build_info{version=\\"${version}\\"} 1\\n")).listen(Number(process.argv[2]), process.argv[1])`;
  return tarGz(join(dir, `node_exporter-${version}.linux-amd64.tar.gz`), (root) => {
    executable(
      join(root, `node_exporter-${version}.linux-amd64`, "node_exporter"),
      `#!/bin/sh\ncase "$1" in\n  --version) echo "node_exporter, version ${version} (branch: HEAD, revision: lab)" >&2 ;;\n  --web.listen-address=*) addr="\${1#--web.listen-address=}"; exec ${process.execPath} -e '${server}' "\${addr%:*}" "\${addr##*:}" ;;\n  *) exit 1 ;;\nesac\n`,
    );
  });
}
