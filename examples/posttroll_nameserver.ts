/**
 * The PostTroll nameserver program (`deno task nameserver`), with the flags
 * of Python posttroll's `nameserver`:
 *
 *   --no-multicast    take announcements by REQ/REP on the broadcast port (21200) instead of UDP multicast
 *   -L, --local-only  in multicast mode, drop announcements from other hosts
 *   -l, --log FILE    write the log to FILE instead of stderr
 *   -v                verbose (debug) log
 *
 * and these additions: `--host ADDR` (bind address, default `*`),
 * `--max-age SECONDS` (default 600), `--advertise ADDR` (the address of the
 * change feed's own registration). Ports, keys and the backend come from
 * the `POSTTROLL_*` environment variables. SIGINT or SIGTERM stops it.
 *
 * @module
 */

import { appendFile } from "node:fs/promises";
import { Nameserver } from "../src/posttroll/nameserver.ts";

interface Flags {
  multicast: boolean;
  localOnly: boolean;
  log: string | undefined;
  verbose: boolean;
  host: string | undefined;
  maxAge: number | undefined;
  advertise: string | undefined;
}

function usage(message?: string): never {
  if (message) console.error(`nameserver: ${message}`);
  console.error(
    "usage: nameserver [--no-multicast] [-L|--local-only] [-l|--log FILE] [-v] [--host ADDR] [--max-age SECONDS] [--advertise ADDR]",
  );
  Deno.exit(2);
}

function parse(args: string[]): Flags {
  const flags: Flags = {
    multicast: true,
    localOnly: false,
    log: undefined,
    verbose: false,
    host: undefined,
    maxAge: undefined,
    advertise: undefined,
  };
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const value = () => args[++i] ?? usage(`${a} needs a value`);
    if (a === "--no-multicast") flags.multicast = false;
    else if (a === "-L" || a === "--local-only") flags.localOnly = true;
    else if (a === "-l" || a === "--log") flags.log = value();
    else if (a === "-v" || a === "--verbose") flags.verbose = true;
    else if (a === "--host") flags.host = value();
    else if (a === "--advertise") flags.advertise = value();
    else if (a === "--max-age") {
      const s = Number(value());
      if (!(s > 0)) usage("--max-age needs a positive number of seconds");
      flags.maxAge = s * 1000;
    } else if (a === "-h" || a === "--help") usage();
    else usage(`unknown argument ${a}`);
  }
  return flags;
}

if (import.meta.main) {
  const flags = parse(Deno.args);
  let logging = Promise.resolve();
  const write = (line: string) => {
    const file = flags.log;
    if (file === undefined) console.error(line);
    else logging = logging.then(() => appendFile(file, line + "\n")).catch((err) => console.error(err));
  };
  const ns = new Nameserver({
    host: flags.host,
    multicast: flags.multicast,
    localOnly: flags.localOnly,
    maxAge: flags.maxAge,
    advertisedAddress: flags.advertise,
    log: (level, message) => {
      if (level === "debug" && !flags.verbose) return;
      write(`[${new Date().toISOString()} ${level.toUpperCase()}] ${message}`);
    },
  });
  await ns.start();
  console.log(`nameserver listening ${JSON.stringify(ns.ports)}`);
  const stop = () => void ns.close().then(() => logging).then(() => Deno.exit(0));
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
}
