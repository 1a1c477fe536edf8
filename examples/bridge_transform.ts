// The transform of examples/bridge.jsonc's "orders-audit" route: a module whose default export makes a
// TransformStream. Each order (JSON) with `"test": true` is dropped (and acked); the others become one message per
// order line, tagged with a header; what is not JSON makes the transform fail, so the route dead-letters it.
// Outside this repository, import the type from "jsr:@x/pubsub/serve".
import type { TransformFactory } from "@x/pubsub/serve";

interface Order {
  id: number;
  test?: boolean;
  lines?: { sku: string; qty: number }[];
}

const orderLines: TransformFactory = ({ route, options }) => {
  const tag = (options as { tag?: string } | undefined)?.tag ?? route;
  return new TransformStream({
    transform(msg, out) {
      const order = msg.json<Order>(); // throws on bad JSON: the route dead-letters the message
      if (order.test === true) return; // filtered: acked, nothing published
      const headers = { "x-order-id": String(order.id), "x-bridge": tag };
      const lines = order.lines ?? [];
      if (lines.length === 0) {
        out.enqueue({ data: msg.data, headers });
        return;
      }
      lines.forEach((line, i) => {
        out.enqueue({ topic: `${msg.topic}.${i + 1}`, data: JSON.stringify({ order: order.id, ...line }), headers });
      });
    },
  });
};

export default orderLines;
