/**
 * `pubsub fake mdb`: {@linkcode MdbTestBed} (a real nats-server, the fake
 * MAS, a test PKI) as a standalone server, with its admin actions and
 * `--log` lines.
 *
 * @module
 */

import { delay } from "../../core/async.ts";
import { datasetSubject, type RegistryEntry, streamNameOf } from "../../mdb/codec.ts";
import type { FakeMasCall } from "../../testing/mdb/fake_mas.ts";
import { MdbTestBed } from "../../testing/mdb/test_bed.ts";
import { intOption, type ParsedArgs, stringOption, UsageError } from "../args.ts";
import { AdminError } from "./admin_body.ts";
import { FAKE_HELP } from "./fake_help.ts";
import type { FakeLog } from "./fake_log.ts";
import { listenPort } from "./listen.ts";
import type { FakeSystem, RunningFake } from "./running_fake.ts";

const NAME = /^[A-Za-z0-9 _.@-]+$/;

interface JszConsumer {
  name: string;
  stream_name: string;
  delivered?: { stream_seq?: number };
  ack_floor?: { stream_seq?: number };
  num_ack_pending?: number;
  num_pending?: number;
}

interface JszStream {
  name: string;
  config?: { subjects?: string[] };
  state?: { messages?: number; bytes?: number; first_seq?: number; last_seq?: number; consumer_count?: number };
  consumer_detail?: JszConsumer[];
}

async function monitor(base: string, path: string): Promise<Record<string, unknown>> {
  const res = await fetch(`${base}${path}`, { signal: AbortSignal.timeout(10_000) });
  if (!res.ok) {
    await res.body?.cancel();
    throw new Error(`nats-server's monitoring endpoint answered ${path} with status ${res.status}`);
  }
  return await res.json();
}

async function streams(base: string): Promise<JszStream[]> {
  const jsz = await monitor(base, "/jsz?accounts=true&streams=true&consumers=true&config=true");
  const accounts = (jsz.account_details ?? []) as { stream_detail?: JszStream[] }[];
  return accounts.flatMap((a) => a.stream_detail ?? []);
}

function logCall(log: FakeLog, c: FakeMasCall): void {
  log.line({
    kind: "https",
    role: c.role,
    path: c.path,
    status: c.status,
    ...(c.cn === undefined ? {} : { cn: c.cn }),
  });
}

async function copyPki(dir: string, files: Record<string, string>): Promise<Record<string, string>> {
  await Deno.mkdir(dir, { recursive: true });
  const out: Record<string, string> = {};
  for (const [name, from] of Object.entries(files)) {
    const to = `${dir.replace(/\/+$/, "")}/${name}`;
    await Deno.copyFile(from, to);
    if (name.endsWith(".key")) await Deno.chmod(to, 0o600).catch(() => {});
    out[name] = to;
  }
  return out;
}

function status(body: Record<string, unknown>, name: string): number | undefined {
  const v = body[name];
  if (v === undefined || v === null) return undefined;
  if (!Number.isSafeInteger(v) || (v as number) < 100 || (v as number) > 599) {
    throw new AdminError(`"${name}" must be an HTTP status (100 to 599) or null`);
  }
  return v as number;
}

/**
 * Restarts nats-server and waits until JetStream answers for every dataset's
 * stream again (it takes a moment after the server accepts connections).
 */
async function restartNats(bed: MdbTestBed): Promise<void> {
  await bed.nats.restart();
  const deadline = Date.now() + 30_000;
  for (const [slug, entry] of bed.mas.datasets) {
    const stream = streamNameOf(datasetSubject(slug, entry));
    while (!await bed.streamReady(stream)) {
      if (Date.now() > deadline) throw new Error(`JetStream did not answer for ${stream} within 30 s of the restart`);
      await delay(50);
    }
  }
}

/** `pubsub fake mdb`. */
export const mdb: FakeSystem = {
  help: FAKE_HELP.mdb,
  options: {
    cn: { type: "string" },
    user: { type: "string", multiple: true },
    dataset: { type: "string", short: "d", multiple: true },
    "auto-create": { type: "boolean" },
    "user-jwt-ttl": { type: "string" },
    "gateway-jwt-ttl": { type: "string" },
    "allow-consumer-create": { type: "boolean" },
    "pki-dir": { type: "string" },
  },

  async start(parsed: ParsedArgs, log: FakeLog): Promise<RunningFake> {
    const cn = stringOption(parsed, "cn") ?? "alice";
    const users = parsed.values.get("user") ?? [];
    for (const name of [cn, ...users]) {
      if (!NAME.test(name)) {
        throw new UsageError(`A certificate CN may hold letters, digits, space, _ . @ -, got ${JSON.stringify(name)}`);
      }
    }
    const datasets = (parsed.values.get("dataset") ?? []).flatMap((d) => d.split(",")).map((d) => d.trim());
    for (const d of datasets) {
      if (!/^[A-Za-z0-9_-]+$/.test(d)) {
        throw new UsageError(`Option --dataset takes slugs (letters, digits, _ -), got ${JSON.stringify(d)}`);
      }
    }
    const gatewayTtl = intOption(parsed, "gateway-jwt-ttl", 1);
    const bed = await MdbTestBed.start({
      cn,
      masPort: listenPort(parsed),
      userJwtTtlSeconds: intOption(parsed, "user-jwt-ttl", 1),
      allowConsumerCreate: parsed.flags.has("allow-consumer-create"),
      autoCreateDatasets: parsed.flags.has("auto-create"),
    });
    try {
      if (gatewayTtl !== undefined) bed.mas.gatewayJwtTtlSeconds = gatewayTtl;
      if (log.enabled) bed.mas.onCall = (c) => logCall(log, c);
      for (const d of datasets) await bed.createDataset(d);
      const pki = bed.pki;
      const certs: Record<string, { cert: string; key: string }> = {
        [cn]: { cert: pki.clientCertPath, key: pki.clientKeyPath },
      };
      for (const user of users) {
        const issued = await pki.issueClient(user);
        certs[user] = { cert: issued.certPath, key: issued.keyPath };
      }
      let ca = pki.caCertPath;
      const pkiDir = stringOption(parsed, "pki-dir");
      if (pkiDir !== undefined) {
        const files: Record<string, string> = {
          "ca.crt": pki.caCertPath,
          "cert.crt": pki.clientCertPath,
          "cert.key": pki.clientKeyPath,
        };
        for (const user of users) {
          files[`${user}.crt`] = certs[user]!.cert;
          files[`${user}.key`] = certs[user]!.key;
        }
        const copied = await copyPki(pkiDir, files);
        ca = copied["ca.crt"]!;
        certs[cn] = { cert: copied["cert.crt"]!, key: copied["cert.key"]! };
        for (const user of users) certs[user] = { cert: copied[`${user}.crt`]!, key: copied[`${user}.key`]! };
      }
      const nats = bed.nats;
      const info: Record<string, unknown> = {
        url: `mdb+https://127.0.0.1:${bed.mas.port}/`,
        mas: bed.mas.url,
        config: `${bed.mas.url}/api/v1/config`,
        nats: nats.url,
        natsWebsocket: nats.wsUrl,
        natsMonitor: nats.monitorUrl,
        natsLog: nats.logFile,
        pki: pkiDir ?? pki.dir,
        ca,
        cn,
        cert: certs[cn]!.cert,
        key: certs[cn]!.key,
        users: certs,
        datasets,
        ...(parsed.flags.has("auto-create") ? { autoCreate: true } : {}),
      };
      const summary =
        `${bed.mas.url} (config, gateway, registry, MAS) with nats-server at ${nats.url} and ${nats.wsUrl}` +
        `, client certificate CN ${cn} in ${pkiDir ?? pki.dir}`;

      return {
        info,
        summary,
        lists: {
          datasets: () => [...bed.mas.datasets.values()],
          streams: async () =>
            (await streams(nats.monitorUrl)).map((s) => ({
              name: s.name,
              subjects: s.config?.subjects ?? [],
              messages: s.state?.messages ?? 0,
              bytes: s.state?.bytes ?? 0,
              firstSeq: s.state?.first_seq ?? 0,
              lastSeq: s.state?.last_seq ?? 0,
              consumers: s.state?.consumer_count ?? 0,
            })),
          subscriptions: async () =>
            (await streams(nats.monitorUrl)).flatMap((s) =>
              (s.consumer_detail ?? []).map((c) => ({
                stream: c.stream_name,
                consumer: c.name,
                deliveredStreamSeq: c.delivered?.stream_seq ?? 0,
                ackFloorStreamSeq: c.ack_floor?.stream_seq ?? 0,
                numAckPending: c.num_ack_pending ?? 0,
                numPending: c.num_pending ?? 0,
              }))
            ),
          clients: async () => {
            const connz = await monitor(nats.monitorUrl, "/connz?subs=true");
            return ((connz.connections ?? []) as Record<string, unknown>[]).map((c) => ({
              cid: c.cid,
              name: c.name ?? "",
              ip: c.ip,
              port: c.port,
              subscriptions: c.subscriptions ?? 0,
              admin: c.name === "mdb test admin",
            }));
          },
          calls: () => bed.mas.calls.map(({ authorization: _, ...c }) => c),
        },
        actions: {
          publish: async (body) => {
            const headers = body.fields.headers;
            if (
              headers !== undefined &&
              (typeof headers !== "object" || headers === null || Array.isArray(headers) ||
                !Object.values(headers).every((v) => typeof v === "string"))
            ) {
              throw new AdminError('"headers" must be an object of strings');
            }
            const dataset = body.string("dataset");
            if (!bed.mas.datasets.has(dataset) && !parsed.flags.has("auto-create")) {
              throw new AdminError(`Dataset ${JSON.stringify(dataset)} does not exist (POST /datasets creates it)`);
            }
            const receipt = await bed.publish(dataset, body.payload(), headers as Record<string, string> | undefined);
            return { dataset, sequence: receipt.sequence };
          },
          datasets: async (body) => {
            const { slug: _, ...entry } = body.fields;
            const slug = body.string("slug");
            if (!/^[A-Za-z0-9_-]+$/.test(slug)) throw new AdminError(`"slug" must hold letters, digits, _ and -`);
            const subject = await bed.createDataset(slug, entry as RegistryEntry);
            return { slug, subject };
          },
          kill: async () => {
            const connz = await monitor(nats.monitorUrl, "/connz");
            await restartNats(bed);
            return { killed: Math.max(0, Number(connz.num_connections ?? 0) - 1) };
          },
          restart: async () => {
            await restartNats(bed);
            return { restarted: true };
          },
          failures: (body) => {
            const f = body.fields;
            bed.mas.failures = {
              config: status(f, "config"),
              gateway: status(f, "gateway"),
              registry: status(f, "registry"),
              mas: status(f, "mas"),
            };
            return Promise.resolve(bed.mas.failures);
          },
        },
        stop: () => bed.stop(),
      };
    } catch (err) {
      await bed.stop();
      throw err;
    }
  },
};
