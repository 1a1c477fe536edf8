/**
 * A route endpoint's URL in the configuration: `${NAME}` references to the
 * environment (secrets must be written so), checked against `open()`'s own
 * URL planner without opening anything.
 *
 * @module
 */

import { plan } from "../open/plan.ts";
import type { EndpointConfig } from "./config.ts";
import { type Fields, kind, type Place } from "./config_fields.ts";
import type { JsoncNode } from "./jsonc.ts";

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const SECRET_PARAM = /token|secret|pass(word)?|key|credential/i;

/** Replaces `${NAME}` with the variable's value (`$${` is a literal `${`). */
export function expand(
  text: string,
  env: (name: string) => string | undefined,
  fail: (reason: string) => never,
  encode: (value: string, offset: number) => string = (v) => v,
): string {
  let out = "";
  let i = 0;
  while (i < text.length) {
    const at = text.indexOf("$", i);
    if (at < 0) break;
    out += text.slice(i, at);
    if (text.startsWith("$${", at)) {
      out += "${";
      i = at + 3;
      continue;
    }
    if (text[at + 1] !== "{") {
      out += "$";
      i = at + 1;
      continue;
    }
    const end = text.indexOf("}", at);
    if (end < 0) fail(`the "\${" at position ${at + 1} is not closed`);
    const name = text.slice(at + 2, end);
    if (!ENV_NAME.test(name)) fail(`\${${name}} is not an environment variable name`);
    const value = env(name);
    if (value === undefined) fail(`the environment variable ${name} is not set`);
    out += encode(value, at);
    i = end + 1;
  }
  return out + text.slice(i);
}

/** Whether the text is exactly one `${NAME}` reference. */
function isReference(text: string): boolean {
  return /^\$\{[A-Za-z_][A-Za-z0-9_]*\}$/.test(text);
}

interface UrlTemplateParts {
  scheme: string;
  userinfo: { start: number; end: number; user: string; password: string | undefined } | undefined;
  query: [string, string][];
}

function urlTemplateParts(text: string): UrlTemplateParts | undefined {
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):(\/\/)?/.exec(text);
  if (m === null) return undefined;
  const scheme = m[1]!.toLowerCase();
  let userinfo: UrlTemplateParts["userinfo"];
  if (m[2] !== undefined) {
    const start = m[0].length;
    const authorityEnd = text.slice(start).search(/[/?#]/);
    const authority = authorityEnd < 0 ? text.slice(start) : text.slice(start, start + authorityEnd);
    const atSign = authority.lastIndexOf("@");
    if (atSign >= 0) {
      const info = authority.slice(0, atSign);
      const colon = info.indexOf(":");
      userinfo = {
        start,
        end: start + atSign,
        user: colon < 0 ? info : info.slice(0, colon),
        password: colon < 0 ? undefined : info.slice(colon + 1),
      };
    }
  }
  const q = text.indexOf("?");
  const query: [string, string][] = [];
  if (q >= 0) {
    for (const pair of text.slice(q + 1).split("#")[0]!.split("&")) {
      if (pair === "") continue;
      const eq = pair.indexOf("=");
      query.push(eq < 0 ? [pair, ""] : [pair.slice(0, eq), pair.slice(eq + 1)]);
    }
  }
  return { scheme, userinfo, query };
}

/** What reading one file needs: where mistakes go, the environment, the base of relative transform paths. */
export interface ConfigContext {
  place: Place;
  env: (name: string) => string | undefined;
  baseUrl: string | URL | undefined;
}

/** Reads an endpoint's `url` (one URL, or a NATS cluster's list): secrets only from the environment, planned by `open()`'s planner. */
export function endpoint(ctx: ConfigContext, f: Fields, path: string): EndpointConfig {
  const node = f.require("url");
  const list: { text: string; node: JsoncNode }[] = [];
  if (node.type === "string") {
    list.push({ text: node.value as string, node });
  } else if (node.type === "array" && node.items.length > 0) {
    for (const item of node.items) {
      if (item.type !== "string") ctx.place.fail(item, `${path}.url`, `must hold strings, not ${kind(item)}`);
      list.push({ text: item.value as string, node: item });
    }
  } else {
    ctx.place.fail(node, `${path}.url`, `must be a URL or a list of NATS server URLs, not ${kind(node)}`);
  }
  const opened = list.map(({ text, node: n }) => {
    const fail: (reason: string) => never = (reason) => ctx.place.fail(n, `${path}.url`, reason);
    if (text === "") fail("must not be empty");
    const parts = urlTemplateParts(text);
    if (parts === undefined) fail(`${JSON.stringify(text)} is not a URL (it has no scheme)`);
    const tokenInUser = /^(nats|httppubsub)/.test(parts.scheme);
    const secretRule = "secrets come from the environment: write it as ${VARIABLE} and set the variable";
    if (parts.userinfo !== undefined) {
      const { user, password } = parts.userinfo;
      if (password !== undefined && password !== "" && !isReference(password)) {
        fail(`the password is written in the file; ${secretRule}`);
      }
      if (password === undefined && tokenInUser && user !== "" && !isReference(user)) {
        fail(`the token is written in the file; ${secretRule}`);
      }
    }
    for (const [k, v] of parts.query) {
      if (SECRET_PARAM.test(k) && v !== "" && !isReference(v)) {
        fail(`the query parameter ${k} is written in the file; ${secretRule}`);
      }
    }
    const info = parts.userinfo;
    const url = expand(
      text,
      ctx.env,
      fail,
      (value, offset) =>
        info !== undefined && offset >= info.start && offset < info.end ? encodeURIComponent(value) : value,
    );
    let p: ReturnType<typeof plan>;
    try {
      p = plan(url, { env: false });
    } catch (err) {
      // The message shows the URL with *** for its password; the file's text is safer still.
      const reason = err instanceof Error ? err.message.replace(/^Opening .*? failed: /, "") : String(err);
      fail(`${JSON.stringify(text)}: ${reason}`);
    }
    return { text, url, plan: p, node: n };
  });
  const first = opened[0]!;
  if (opened.length > 1) {
    for (const o of opened) {
      if (o.plan.system !== "nats") {
        ctx.place.fail(o.node, `${path}.url`, "a list of URLs is for the servers of one NATS cluster only");
      }
      const q = (u: string) => u.replace(/^[^?]*/, "");
      if (q(o.url) !== q(first.url) || o.url.split(":")[0] !== first.url.split(":")[0]) {
        ctx.place.fail(o.node, `${path}.url`, "every server URL must have the same scheme and query as the first");
      }
    }
  }
  const p = first.plan;
  const jetstream = p.system === "nats" && p.options.jetstream !== undefined && p.options.jetstream !== false;
  return {
    url: first.url,
    display: opened.length > 1 ? opened.map((o) => o.text).join(",") : first.text,
    servers: opened.length > 1
      ? opened.map((o) => (o.plan as Extract<typeof p, { system: "nats" }>).options.servers as string)
      : undefined,
    system: p.system,
    jetstream,
    settles: jetstream || (p.system === "mdb" && p.pubsub.ack === "manual") ||
      (p.system === "memory" && p.options.settle === true),
    line: node.line,
  };
}
