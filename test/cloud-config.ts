/** Reading user data as cloud-init does, for tests: YAML parsed, `gz+b64` files decoded. */
import { gunzipSync } from "node:zlib";
import { parse, stringify } from "yaml";

export interface CloudConfigFile {
  path: string;
  content: string;
  permissions: string;
  owner: string;
  defer?: boolean;
  encoding?: string;
}

export interface CloudConfigDoc {
  groups?: string[];
  users: { name: string; system?: boolean; primary_group?: string; sudo?: string; ssh_authorized_keys?: string[]; lock_passwd?: boolean; homedir?: string }[];
  write_files: CloudConfigFile[];
  runcmd: string[][];
}

/** The cloud-config document with every file's content as cloud-init writes it. */
export function decodeCloudConfig(text: string): CloudConfigDoc {
  const doc = parse(text) as CloudConfigDoc;
  doc.write_files = (doc.write_files ?? []).map((f) =>
    f.encoding === "gz+b64" ? { ...f, content: gunzipSync(Buffer.from(f.content, "base64")).toString("utf8"), encoding: undefined } : f,
  );
  return doc;
}

/** The user data as text with its files decoded: for assertions on what a host will get. */
export function decodedUserDataText(text: string): string {
  return `${text.split("\n")[0]}\n${stringify(decodeCloudConfig(text), { lineWidth: 0 })}`;
}
