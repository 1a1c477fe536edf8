// ./posttroll/wire is the codec alone: what it loads (deno info's static graph) holds no zeromq and no node: built-in
// but node:os, the one its docs name (the default sender's user and host names), so a peer or a fake written against
// it pulls in no sockets, no UDP and no file reading.
import assert from "node:assert/strict";
import { inSrc, SRC, staticGraph } from "../_module_graph.ts";

Deno.test("./posttroll/wire loads no zeromq and no node: built-in but node:os", async () => {
  const graph = [...await staticGraph("src/posttroll/wire.ts")];
  assert.deepEqual(graph.filter((s) => s.startsWith("npm:")), []);
  assert.deepEqual(graph.filter((s) => s.startsWith("node:")), ["node:os"]);
  const local = graph.filter((s) => s.startsWith(SRC)).map(inSrc);
  for (const file of ["broadcaster.ts", "sockets.ts", "socket_security.ts", "zap.ts", "config.ts"]) {
    assert.ok(!local.includes(`posttroll/${file}`), `wire.ts loads posttroll/${file}`);
  }
});

Deno.test("./posttroll loads zeromq (the contrast: the graph above is read correctly)", async () => {
  const graph = [...await staticGraph("src/posttroll/mod.ts")];
  assert.ok(graph.some((s) => s.startsWith("npm:") && s.includes("zeromq")), graph.join("\n"));
  assert.ok(graph.includes("node:dgram"));
});
