/**
 * IPv4 CIDR arithmetic for carving the VPC into per-AZ subnets and fixed host addresses.
 * Pure functions; every error names the value it refused.
 */

export interface Ipv4Cidr {
  /** Network address as an unsigned 32-bit integer (host bits cleared). */
  readonly network: number;
  readonly prefixLength: number;
}

const IPV4_CIDR = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;
const IPV4_ADDRESS = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

function octetsToInt(octets: string[]): number | undefined {
  let value = 0;
  for (const octet of octets) {
    const n = Number(octet);
    if (!Number.isInteger(n) || n < 0 || n > 255) return undefined;
    value = value * 256 + n;
  }
  return value;
}

export function intToIpv4(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join(".");
}

/** Parses `a.b.c.d/n`; returns undefined when it is not a canonical IPv4 CIDR (host bits must be zero). */
export function parseIpv4Cidr(text: string): Ipv4Cidr | undefined {
  const match = IPV4_CIDR.exec(text);
  if (!match) return undefined;
  const address = octetsToInt(match.slice(1, 5));
  const prefixLength = Number(match[5]);
  if (address === undefined || prefixLength > 32) return undefined;
  const blockSize = 2 ** (32 - prefixLength);
  if (address % blockSize !== 0) return undefined;
  return { network: address, prefixLength };
}

export function parseIpv4Address(text: string): number | undefined {
  const match = IPV4_ADDRESS.exec(text);
  return match ? octetsToInt(match.slice(1, 5)) : undefined;
}

export function formatCidr(cidr: Ipv4Cidr): string {
  return `${intToIpv4(cidr.network)}/${cidr.prefixLength}`;
}

/** Like Terraform's cidrsubnet(): the `netnum`-th block of `/newPrefixLength` inside `parent`. */
export function cidrSubnet(parent: Ipv4Cidr, newPrefixLength: number, netnum: number): Ipv4Cidr {
  if (newPrefixLength < parent.prefixLength || newPrefixLength > 28) {
    throw new RangeError(`cannot carve a /${newPrefixLength} out of ${formatCidr(parent)}`);
  }
  const count = 2 ** (newPrefixLength - parent.prefixLength);
  if (!Number.isInteger(netnum) || netnum < 0 || netnum >= count) {
    throw new RangeError(`${formatCidr(parent)} holds ${count} /${newPrefixLength} subnets; index ${netnum} is outside it`);
  }
  return { network: parent.network + netnum * 2 ** (32 - newPrefixLength), prefixLength: newPrefixLength };
}

/** The `hostnum`-th address of a subnet, refusing the network, broadcast and AWS-reserved (first four) addresses. */
export function cidrHost(subnet: Ipv4Cidr, hostnum: number): string {
  const size = 2 ** (32 - subnet.prefixLength);
  // AWS reserves the first four addresses and the last one of every subnet.
  if (!Number.isInteger(hostnum) || hostnum < 4 || hostnum > size - 2) {
    throw new RangeError(`host ${hostnum} is not usable in ${formatCidr(subnet)} (AWS reserves .0-.3 and the last address)`);
  }
  return intToIpv4(subnet.network + hostnum);
}

export function cidrContainsAddress(cidr: Ipv4Cidr, address: number): boolean {
  const size = 2 ** (32 - cidr.prefixLength);
  return address >= cidr.network && address < cidr.network + size;
}

/** True when the CIDR admits every IPv4 address (0.0.0.0/0) — the "from anywhere" case policies care about. */
export function isAnywhere(text: string): boolean {
  return text === "0.0.0.0/0" || text === "::/0";
}
