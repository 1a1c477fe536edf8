// JetStreamPullSource with auto-ack (MDB's "ack before yield") skips a redelivery of a stream sequence it already
// handed out, remembering the last 4096 sequences. nats-server only redelivers an acked message after a restart that
// resumed an older consumer state (not on demand), and it does not deliver a forged `$JS.ACK.` reply from another user,
// so the deliveries here come from a stand-in connection that hands the source exactly the bytes a server would.
import assert from "node:assert/strict";
import type { Msg, NatsConnection } from "@nats-io/nats-core";
import { StatusChannel } from "../../src/core/status.ts";
import type { SourceContext } from "../../src/core/source.ts";
import { JetStreamPullSource, type PullOwner, type PullPattern } from "../../src/nats/jetstream_source.ts";
import { withDeadline } from "../../src/core/async.ts";

const encoder = new TextEncoder();
const ACK = new Uint8Array(0);

/** A connection that records what is published and lets the test deliver to the pull inbox. */
function standIn() {
  let deliver: ((err: Error | null, m: Msg) => void) | undefined;
  const published: { subject: string; reply?: string | undefined; payload?: Uint8Array }[] = [];
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
    sendAck(reply, payload) {
      published.push({ subject: reply, payload });
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

/** A started auto-ack source over a stand-in connection, with this request shape and the consumer's ack wait. */
async function started(pattern: PullPattern, ackWaitMs?: number) {
  const { owner, published, send } = standIn();
  const source = new JetStreamPullSource<string>({
    owner,
    what: "Pulling",
    detail: {},
    consumer: { setup: () => Promise.resolve({ stream: "EVENTS_ds", consumer: "c", ackWaitMs }) },
    pattern,
    message: (m) => new TextDecoder().decode(m.data),
    autoAck: ACK,
  });
  const controller = new AbortController();
  const context = { signal: controller.signal } as SourceContext;
  await source.start(context);
  const stop = async () => {
    controller.abort();
    await source.cancel();
  };
  return { source, context, published, send, stop };
}

Deno.test("JetStreamPullSource with auto-ack skips (and acks) a redelivery of a sequence it handed out, within 4096", async () => {
  const { source, context, published, send, stop } = await started({
    readAhead: false,
    noWait: () => false,
    longPollBatch: (room) => room,
    request: (batch) => ({ body: `{"batch":${batch}}`, expiresMs: 60_000 }),
  });
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
    await stop();
  }
});

Deno.test("JetStreamPullSource prefetch: a batch held past the hold limit is naked and forgotten, so its redelivery is read", async () => {
  // An ack wait of 30 ms: prefetched messages are held unsettled for at most 10 ms.
  const { source, context, published, send, stop } = await started({
    readAhead: false,
    prefetch: 1,
    noWait: () => true,
    longPollBatch: (room) => room,
    request: (batch, noWait) => ({ body: `{"batch":${batch},"no_wait":${noWait}}`, expiresMs: 0 }),
  }, 30);
  const text = new TextDecoder();
  const settled = (kind: string) =>
    published.filter((p) => p.subject.startsWith("$JS.ACK.") && text.decode(p.payload) === kind)
      .map((p) => Number(p.subject.split(".")[5]));
  const pulls = () => published.filter((p) => p.subject.startsWith("$JS.API.CONSUMER.MSG.NEXT.")).length;
  try {
    const read = async () => {
      const out = await withDeadline(2_000, source.pull(5, context), { error: "no message within 2 s" });
      assert.ok(out !== null && out.length === 1);
      return out[0]!;
    };
    const first = read(); // no message yet: the first pull goes out
    assert.equal(pulls(), 1);
    for (let seq = 1; seq <= 5; seq++) send(seq, `m${seq}`);
    assert.equal(await first, "m1");
    assert.deepEqual(settled(""), [1, 2, 3, 4, 5], "the first batch acked whole when its first message was taken");
    assert.equal(pulls(), 2, "one batch requested ahead");
    for (let seq = 6; seq <= 10; seq++) send(seq, `m${seq}`);
    assert.deepEqual(settled(""), [1, 2, 3, 4, 5], "the batch ahead is not acked on arrival");
    // The reader stalls past the hold limit: the batch ahead goes back to the server.
    await withDeadline(2_000, async () => {
      while (settled("-NAK").length < 5) await new Promise((r) => setTimeout(r, 5));
    }, { error: "no hand-back within 2 s" });
    assert.deepEqual(settled("-NAK"), [6, 7, 8, 9, 10]);
    assert.equal(source.held, 4);
    // The server delivers them again, to this reader: read, not taken for duplicates.
    for (let seq = 6; seq <= 10; seq++) send(seq, `again ${seq}`);
    const got: string[] = [];
    for (let i = 0; i < 9; i++) got.push(await read());
    assert.deepEqual(got, ["m2", "m3", "m4", "m5", "again 6", "again 7", "again 8", "again 9", "again 10"]);
  } finally {
    await stop();
  }
});
