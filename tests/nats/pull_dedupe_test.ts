// JetStreamPullSource with auto-ack (MDB's "ack before yield") skips a redelivery of a stream sequence it already
// handed out, remembering the last 4096 sequences. nats-server only redelivers an acked message after a restart that
// resumed an older consumer state (not on demand), and it does not deliver a forged `$JS.ACK.` reply from another user,
// so the deliveries here come from a stand-in connection that hands the source exactly the bytes a server would.
import assert from "node:assert/strict";
import type { Msg, NatsConnection } from "@nats-io/nats-core";
import { StatusChannel } from "../../src/core/status.ts";
import type { SourceContext } from "../../src/core/source.ts";
import { JetStreamPullSource, type PullOwner } from "../../src/nats/jetstream_source.ts";

const encoder = new TextEncoder();
const ACK = new Uint8Array(0);

/** A connection that records what is published and lets the test deliver to the pull inbox. */
function standIn() {
  let deliver: ((err: Error | null, m: Msg) => void) | undefined;
  const published: { subject: string; reply?: string | undefined }[] = [];
  const connection = {
    subscribe(_subject: string, opts: { callback: (err: Error | null, m: Msg) => void }) {
      deliver = opts.callback;
      return { unsubscribe() {}, drain: () => Promise.resolve() };
    },
    publish(subject: string, _data: unknown, opts?: { reply?: string }) {
      published.push({ subject, reply: opts?.reply });
    },
    flush: () => Promise.resolve(),
    closed: () => new Promise<void>(() => {}),
    isClosed: () => false,
  } as unknown as NatsConnection;
  const owner: PullOwner = {
    connection,
    apiPrefix: "$JS.API",
    reconnecting: false,
    status: new StatusChannel(),
    onReconnect: () => () => {},
    waitReconnected: () => Promise.resolve(),
    sendAck(reply) {
      published.push({ subject: reply });
      return Promise.resolve();
    },
    apiTimeoutMs: 60_000,
  };
  /** A delivery of stream sequence `seq`, as nats-server sends it. */
  const send = (seq: number, text: string) =>
    deliver!(null, {
      subject: "EVENTS.ds",
      reply: `$JS.ACK.EVENTS_ds.c.1.${seq}.${seq}.1700000000000000000.0`,
      data: encoder.encode(text),
      headers: undefined,
    } as unknown as Msg);
  return { owner, published, send };
}

Deno.test("JetStreamPullSource with auto-ack skips (and acks) a redelivery of a sequence it handed out, within 4096", async () => {
  const { owner, published, send } = standIn();
  const source = new JetStreamPullSource<string>({
    owner,
    what: "Pulling",
    detail: {},
    consumer: { setup: () => Promise.resolve({ stream: "EVENTS_ds", consumer: "c" }) },
    pattern: {
      readAhead: false,
      noWait: () => false,
      longPollBatch: (room) => room,
      request: (batch) => ({ body: `{"batch":${batch}}`, expiresMs: 60_000 }),
    },
    message: (m) => new TextDecoder().decode(m.data),
    autoAck: ACK,
  });
  const controller = new AbortController();
  const context = { signal: controller.signal } as SourceContext;
  await source.start(context);
  try {
    const read = async () => {
      const out = await source.pull(1, context);
      assert.ok(out !== null && out.length === 1);
      return out[0]!;
    };
    send(1, "one");
    assert.equal(await read(), "one");
    send(1, "one again"); // a redelivery of what was handed out: acked, not handed out
    for (let seq = 100; seq < 100 + 4096; seq++) send(seq, `f${seq}`);
    for (let seq = 100; seq < 100 + 4096; seq++) assert.equal(await read(), `f${seq}`);
    // 4097 sequences were seen: 1 is the oldest and forgotten, 4195 the newest and remembered.
    send(4195, "newest again");
    send(1, "oldest again");
    send(2, "two");
    assert.equal(await read(), "oldest again");
    assert.equal(await read(), "two");
    assert.equal(source.held, 0);
    const acked = published.filter((p) => p.subject.startsWith("$JS.ACK.")).map((p) => Number(p.subject.split(".")[5]));
    // Every delivery was acked on arrival, the skipped ones too.
    assert.equal(acked.length, 1 + 1 + 4096 + 3);
    assert.deepEqual(acked.slice(-3), [4195, 1, 2]);
  } finally {
    controller.abort();
    await source.cancel();
  }
});
