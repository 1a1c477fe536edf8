// Trace context through a route with Deno's built-in OpenTelemetry on: `pubsub serve` runs as a child process with
// OTEL_DENO=true exporting OTLP/HTTP JSON to a receiver in this test; the span it exports must be the child of the
// published message's traceparent, and the forwarded message must carry that span's traceparent.
import assert from "node:assert/strict";
import { NatsPubSub } from "../../src/nats/tcp.ts";
import { NatsServer, natsServerSkipReason } from "../../src/testing/nats/mod.ts";
import { Replica } from "./_replica.ts";

const skip = natsServerSkipReason();

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: { key: string; value: { stringValue?: string } }[];
}

Deno.test({
  name: "serve with OTEL_DENO=true: a consumer span, child of the message's traceparent, whose id is passed on",
  ignore: skip !== undefined,
  async fn() {
    const spans: { scope: string; span: OtlpSpan }[] = [];
    let arrived!: () => void;
    const forward = new Promise<void>((r) => arrived = r);
    const receiver = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
      const body = await req.text();
      if (new URL(req.url).pathname === "/v1/traces") {
        const doc = JSON.parse(body) as {
          resourceSpans: { scopeSpans: { scope: { name: string }; spans: OtlpSpan[] }[] }[];
        };
        for (const rs of doc.resourceSpans) {
          for (const ss of rs.scopeSpans) for (const span of ss.spans) spans.push({ scope: ss.scope.name, span });
        }
        if (spans.some((s) => s.span.name === "r forward")) arrived();
      }
      return new Response("{}", { headers: { "content-type": "application/json" } });
    });
    const server = await NatsServer.start({ websocket: false, jetstream: false });
    const ps = await NatsPubSub.connect(server.url);
    const dir = await Deno.makeTempDir();
    let replica: Replica | undefined;
    try {
      await Deno.writeTextFile(
        `${dir}/bridge.jsonc`,
        `{ "routes": [{ "name": "r", "from": { "url": "${server.url}", "topic": "in.>" },
                        "to": { "url": "${server.url}", "topic": "out.{2}" } }] }`,
      );
      replica = new Replica("otel", `${dir}/bridge.jsonc`, {
        OTEL_DENO: "true",
        OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
        OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${receiver.addr.port}`,
        OTEL_DENO_CONSOLE: "ignore",
        OTEL_SERVICE_NAME: "bridge-test",
      });
      await replica.ready();
      const out = ps.subscribe("out.a");
      await out.ready;
      const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
      const parentId = "00f067aa0ba902b7";
      await ps.publish("in.a", "hello", { headers: { traceparent: `00-${traceId}-${parentId}-01` } });
      const reader = out.getReader();
      const got = (await reader.read()).value!;
      reader.releaseLock();
      await out.close();
      assert.equal(got.text(), "hello");
      replica.kill("SIGTERM"); // the exit flushes what is left to export
      assert.equal((await replica.exited()).code, 0, replica.stderr);
      await forward;
      const mine = spans.find((s) => s.span.name === "r forward")!;
      assert.equal(mine.scope, "@x/pubsub/serve");
      assert.equal(mine.span.traceId, traceId);
      assert.equal(mine.span.parentSpanId, parentId);
      assert.equal(mine.span.kind, 5, "SPAN_KIND_CONSUMER");
      const attr = (k: string) => mine.span.attributes.find((a) => a.key === k)?.value.stringValue;
      assert.equal(attr("pubsub.route"), "r");
      assert.equal(attr("messaging.destination.name"), "in.a");
      assert.equal(got.headers.get("traceparent"), `00-${traceId}-${mine.span.spanId}-01`);
    } finally {
      replica?.kill("SIGKILL");
      await replica?.exited();
      await ps.close();
      await server.stop();
      await receiver.shutdown();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
