// examples/bridge.jsonc and its transform, as docs/bridge.md tells a new user to run them: the file is valid, and the
// transform filters, splits and fails as its comments say.
import assert from "node:assert/strict";
import { createMessage } from "../../src/core/message.ts";
import { parseConfig } from "../../src/serve/config.ts";
import { loadTransform, TransformError, type TransformOutput, TransformRunner } from "../../src/serve/transform.ts";

const FILE = new URL("../../examples/bridge.jsonc", import.meta.url);

Deno.test("examples/bridge.jsonc: two JetStream routes, the transform loaded from beside the file", async () => {
  const config = parseConfig(await Deno.readTextFile(FILE), { file: "examples/bridge.jsonc", baseUrl: FILE });
  assert.deepEqual(config.routes.map((r) => r.name), ["orders-audit", "payments-ledger"]);
  const [orders, payments] = config.routes as [typeof config.routes[0], typeof config.routes[0]];
  assert.equal(orders.from.jetstream, true);
  assert.equal(orders.to.topic.render("orders.eu.17"), "audit.eu.17");
  assert.equal(orders.deadLetter?.topic.render("orders.eu.17"), "audit.refused.eu.17");
  assert.equal(payments.to.topic.render("payments.card"), "ledger.payments.card");
  assert.equal(orders.transform?.specifier, new URL("../../examples/bridge_transform.ts", import.meta.url).href);

  const factory = await loadTransform(orders.transform!.specifier);
  const runner = new TransformRunner(factory, { route: orders.name, options: orders.transform!.options });
  const text = (o: TransformOutput) => typeof o.data === "string" ? o.data : new TextDecoder().decode(o.data);
  try {
    assert.deepEqual(await runner.run(createMessage("orders.eu.1", JSON.stringify({ id: 1, test: true }))), []);
    const split = await runner.run(
      createMessage("orders.eu.2", JSON.stringify({ id: 2, lines: [{ sku: "a", qty: 1 }, { sku: "b", qty: 2 }] })),
    );
    assert.deepEqual(split.map((o) => [o.topic, JSON.parse(text(o))]), [
      ["orders.eu.2.1", { order: 2, sku: "a", qty: 1 }],
      ["orders.eu.2.2", { order: 2, sku: "b", qty: 2 }],
    ]);
    assert.equal(new Headers(split[0]!.headers).get("x-bridge"), "audited");
    await assert.rejects(runner.run(createMessage("orders.eu.3", "not json")), TransformError);
    const plain = await runner.run(createMessage("orders.eu.4", JSON.stringify({ id: 4 })));
    assert.deepEqual(plain.map((o) => new Headers(o.headers).get("x-order-id")), ["4"]);
  } finally {
    await runner.close();
  }
});
