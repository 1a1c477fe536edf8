// Topic templates, and the traceparent header read and written as W3C Trace Context level 1 says (the vectors are
// the standard's own example and its stated rules, not output of our formatter).
import assert from "node:assert/strict";
import { compileTopicTemplate } from "../../src/serve/topic_template.ts";
import { formatTraceparent, parseTraceparent, startRouteSpan } from "../../src/serve/trace.ts";

Deno.test("compileTopicTemplate() builds topics from the source topic's tokens", () => {
  const nats = (t: string) => compileTopicTemplate(t, ".");
  assert.equal(nats("audit.{topic}").render("orders.eu.1"), "audit.orders.eu.1");
  assert.equal(nats("{1}-{-1}").render("orders.eu.1"), "orders-1");
  assert.equal(nats("eu.{2..}").render("orders.eu.1"), "eu.eu.1");
  assert.equal(nats("{2..3}").render("a.b.c.d"), "b.c");
  assert.equal(nats("fixed").render("anything"), "fixed");
  assert.equal(nats("fixed").dynamic, false);
  assert.equal(nats("{{literal}}.{1}").render("x.y"), "{literal}.x");
  const slash = compileTopicTemplate("out/{2}/{1..}", "/");
  assert.equal(slash.render("/sat/noaa19/avhrr"), "out/noaa19/sat/noaa19/avhrr"); // a leading "/" adds no token
  assert.throws(() => nats("{4}").render("a.b"), RangeError);
  assert.throws(() => nats("{2..5}").render("a.b"), RangeError);
  for (const bad of ["{x}", "{0}", "{3..1}", "{topic", "a}b", ""]) {
    assert.throws(() => nats(bad), SyntaxError, bad);
  }
});

Deno.test("parseTraceparent() reads valid headers and refuses what the standard calls invalid", () => {
  // The standard's example.
  assert.deepEqual(parseTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"), {
    traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
    spanId: "00f067aa0ba902b7",
    traceFlags: 1,
    isRemote: true,
  });
  // A future version may add fields after the flags; its first four are read.
  assert.equal(parseTraceparent("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00-what-ever")?.traceFlags, 0);
  for (
    const bad of [
      "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01", // uppercase
      "00-00000000000000000000000000000000-00f067aa0ba902b7-01", // all-zero trace id
      "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", // all-zero parent id
      "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", // version ff
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra", // version 00 has exactly 4 fields
      "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01", // short trace id
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7", // no flags
      "",
    ]
  ) assert.equal(parseTraceparent(bad), undefined, bad);
  assert.equal(parseTraceparent(null), undefined);
});

Deno.test("formatTraceparent() writes version 00 with two-digit flags", () => {
  const v = formatTraceparent({
    traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
    spanId: "00f067aa0ba902b7",
    traceFlags: 1,
  });
  assert.equal(v, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
});

Deno.test("startRouteSpan() without OpenTelemetry passes the message's trace context on unchanged, or none", () => {
  const headers = new Headers({
    traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
    tracestate: "congo=t61rcWkgMzE",
  });
  const s = startRouteSpan("r forward", headers, {});
  assert.equal(s.traceparent, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  assert.equal(s.tracestate, "congo=t61rcWkgMzE");
  assert.equal(s.span.isRecording(), false);
  s.span.end();
  const none = startRouteSpan("r forward", new Headers(), {});
  assert.equal(none.traceparent, undefined);
  const invalid = startRouteSpan("r forward", new Headers({ traceparent: "garbage", tracestate: "a=b" }), {});
  assert.equal(invalid.traceparent, undefined);
  assert.equal(invalid.tracestate, null);
});
