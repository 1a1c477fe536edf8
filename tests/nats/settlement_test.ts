// Settlement (shared by ./nats and ./mdb messages): the first settlement counts, a call made while it is on its way
// shares its outcome, and one that failed leaves the message unsettled so it can be made again.
import assert from "node:assert/strict";
import { TimeoutError } from "../../mod.ts";
import { ackCodec } from "../../src/nats/codec.ts";
import { Settlement } from "../../src/nats/settlement.ts";

function deferred() {
  let resolve!: () => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

Deno.test("Settlement: a failed settlement leaves the message unsettled; a concurrent one shares the outcome", async () => {
  const sent: string[] = [];
  let next = deferred();
  const s = new Settlement("$JS.ACK.S.c.1.1.1.1.0", (_reply, payload) => {
    sent.push(new TextDecoder().decode(payload));
    return next.promise;
  }, ackCodec(true));
  const first = s.ack();
  const second = s.nak(); // while the ack is on its way: not sent, shares the ack's outcome
  assert.equal(s.settled, true);
  next.reject(new TimeoutError("Settling a message failed: the server did not confirm it"));
  await assert.rejects(first, TimeoutError);
  await assert.rejects(second, TimeoutError);
  assert.equal(s.settled, false, "unsettled after the failure");
  assert.deepEqual(sent, ["+ACK"]);
  // Made again: sent again, and this time it holds.
  next = deferred();
  const again = s.term();
  next.resolve();
  await again;
  assert.equal(s.settled, true);
  await s.ack(); // settled: ignored
  assert.deepEqual(sent, ["+ACK", "+TERM"]);
  // An invalid argument is refused without settling.
  const t = new Settlement("$JS.ACK.S.c.1.2.2.1.0", () => Promise.resolve(), ackCodec(true));
  await assert.rejects(() => t.nak(-1), RangeError);
  assert.equal(t.settled, false);
});
