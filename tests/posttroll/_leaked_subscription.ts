// Not a test file of the suite: lifecycle_test.ts runs it as its own `deno test` process. Its one test leaves a
// publisher sending on a timer and a subscription reading it open on purpose, as a failing test would, so that
// Deno frees the zeromq objects (still in use) when the file ends and then runs the due callbacks once more.
import { Publisher } from "../../src/posttroll/publisher.ts";
import { subscribe } from "../../src/posttroll/subscriber.ts";

Deno.test({
  name: "a publisher and a subscription left open at the end of a test file",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const pub = await new Publisher({ host: "127.0.0.1" }).start();
    const sub = subscribe({ addresses: [pub.url], nameserver: false });
    await sub.ready;
    setInterval(() => void pub.send({ subject: "/leak", data: "x" }).catch(() => {}), 1);
    const reader = sub.getReader();
    for (let i = 0; i < 3; i++) await reader.read();
    // Keep reading in the background, as an application would.
    void (async () => {
      while (!(await reader.read().catch(() => ({ done: true }))).done) { /* go on */ }
    })();
    console.log("left open");
  },
});
