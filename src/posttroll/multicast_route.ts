/**
 * What to say when multicast fails for want of a route: joining a group
 * (the nameserver's intake) or sending to it (a publisher's announcements)
 * on a host that has no route for it.
 *
 * @module
 */

import { readFileSync } from "node:fs";
import { ConnectionError } from "../core/errors.ts";
import { grantedWithoutPrompt } from "../core/permissions.ts";

/** Linux's routing table: the IPv4 routes as (destination, mask), or undefined where it cannot be read. */
function routes(): [number, number][] | undefined {
  const path = "/proc/net/route";
  if (!grantedWithoutPrompt({ name: "read", path })) return undefined;
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
  const out: [number, number][] = [];
  for (const line of text.split("\n").slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 8) continue;
    // Little-endian hex, as the kernel prints them.
    const le = (h: string) => {
      const n = parseInt(h, 16);
      return (((n & 0xff) << 24) | ((n >>> 8 & 0xff) << 16) | ((n >>> 16 & 0xff) << 8) | (n >>> 24 & 0xff)) >>> 0;
    };
    out.push([le(f[1]!), le(f[7]!)]);
  }
  return out;
}

function ipv4(address: string): number | undefined {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(address);
  if (m === null) return undefined;
  return m.slice(1).reduce((n, p) => (n * 256 + Number(p)) >>> 0, 0);
}

/**
 * Whether the routing table has a route covering `group` (the default
 * route counts).
 *
 * @param group An IPv4 address.
 * @returns `true` or `false`, or `undefined` where the table cannot be read
 *   (not Linux, or no read permission for `/proc/net/route`).
 */
export function hasRouteTo(group: string): boolean | undefined {
  const addr = ipv4(group);
  const table = routes();
  if (addr === undefined || table === undefined) return undefined;
  return table.some(([dest, mask]) => ((addr & mask) >>> 0) === ((dest & mask) >>> 0));
}

/**
 * The error for a failed join of, or send to, a multicast group: the
 * runtime's bare message (`addMembership EINVAL`, `send UNKNOWN ...`)
 * completed with the group, the port and, where the routing table says so,
 * the missing route.
 *
 * @param action What failed, e.g. `Joining the multicast group 225.0.0.212 on port 21200`.
 * @param group The group.
 * @param iface The configured `multicast_interface`, if any.
 * @param cause The runtime's error.
 * @returns The error, with `cause` kept.
 */
export function multicastError(
  action: string,
  group: string,
  iface: string | undefined,
  cause: unknown,
): ConnectionError {
  const bare = (cause as Error)?.message ?? String(cause);
  let why: string;
  const routed = iface === undefined ? hasRouteTo(group) : undefined;
  if (iface !== undefined) {
    why = `the interface ${iface} (multicast_interface) cannot reach the group ${group}`;
  } else if (routed === false) {
    why = `this host has no route to the multicast group ${group} (no default route and none for 224.0.0.0/4): ` +
      `add one (e.g. \`ip route add 224.0.0.0/4 dev eth0\`) or set multicast_interface`;
  } else {
    why = `the host most likely has no usable route to the multicast group ${group}: check the routes for ` +
      `224.0.0.0/4, or set multicast_interface`;
  }
  return new ConnectionError(`${action} failed: ${bare}: ${why}`, { cause });
}
