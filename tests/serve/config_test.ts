// The serve configuration: defaults, environment references, secrets refused when written in the file, and every
// mistake refused with the line it is on (lines counted in the test's own text).
import assert from "node:assert/strict";
import { parseConfig } from "../../src/serve/config.ts";
import { ConfigError } from "../../src/serve/config_error.ts";

const env = (vars: Record<string, string>) => (name: string) => vars[name];

function refused(text: string, line: number, reason: RegExp, vars: Record<string, string> = {}): ConfigError {
  try {
    parseConfig(text, { file: "bridge.jsonc", env: env(vars), baseUrl: "file:///etc/pubsub/" });
  } catch (err) {
    assert.ok(err instanceof ConfigError, `not a ConfigError: ${err}`);
    assert.equal(err.line, line, `${err.message}\n---\n${text}`);
    assert.match(err.reason, reason);
    assert.match(err.message, new RegExp(`^bridge\\.jsonc:${line}:\\d+: `));
    return err;
  }
  throw new Error(`accepted: ${text}`);
}

/** A config whose line `at` (from 1) is replaced by `line`. */
function withLine(at: number, line: string): string {
  const lines = GOOD.split("\n");
  lines[at - 1] = line;
  return lines.join("\n");
}

const GOOD = `{
  // three copies of this file run
  "replicas": 3,
  "listen": "0.0.0.0:\${PORT}",
  "routes": [
    {
      "name": "orders",
      "from": {
        "url": ["nats://\${NATS_TOKEN}@n1:4222?jetstream", "nats://\${NATS_TOKEN}@n2:4222?jetstream"],
        "topic": "orders.>",
        "deliver": "all",
        "ackWaitMs": 30000,
      },
      "to": { "url": "streamsea+wss://client:\${SEA_SECRET}@sea.example", "topic": "audit.{2..}" },
      "transform": { "module": "./enrich.ts", "options": { "country": "FI" } },
      "maxInFlight": 64,
      "retry": { "attempts": 5 },
      "deadLetter": { "topic": "refused.{topic}" },
    },
    { "name": "plain", "from": { "url": "memory:", "topic": "a" }, "to": { "url": "memory:" } },
  ],
}`;

const VARS = { PORT: "9100", NATS_TOKEN: "t0k/en@x", SEA_SECRET: "s3cr:et" };

Deno.test("parseConfig() reads routes, defaults and environment references", () => {
  const c = parseConfig(GOOD, { file: "bridge.jsonc", env: env(VARS), baseUrl: "file:///etc/pubsub/" });
  assert.equal(c.replicas, 3);
  assert.deepEqual(c.listen, { hostname: "0.0.0.0", port: 9100 });
  assert.equal(c.drainTimeoutMs, 10_000);
  const [orders, plain] = c.routes as [typeof c.routes[0], typeof c.routes[0]];
  // The secret is percent-encoded where it lands in the user info; the display keeps the reference.
  assert.equal(orders.from.url, "nats://t0k%2Fen%40x@n1:4222?jetstream");
  assert.equal(orders.from.display, "nats://${NATS_TOKEN}@n1:4222?jetstream,nats://${NATS_TOKEN}@n2:4222?jetstream");
  assert.deepEqual(orders.from.servers, ["nats://n1:4222", "nats://n2:4222"]);
  assert.equal(orders.from.system, "nats");
  assert.equal(orders.from.jetstream, true);
  assert.equal(orders.from.settles, true);
  assert.equal(orders.from.group, "orders");
  assert.equal(orders.from.separator, ".");
  assert.equal(orders.from.highWaterMark, 64);
  // A JetStream source confirms its acks unless the file says otherwise.
  assert.deepEqual(orders.from.consumer, { deliver: "all", ackWaitMs: 30000, confirmAcks: true });
  const unconfirmed = parseConfig(withLine(11, `        "deliver": "all", "confirmAcks": false,`), {
    file: "bridge.jsonc",
    env: env(VARS),
    baseUrl: "file:///etc/pubsub/",
  });
  assert.equal(unconfirmed.routes[0]!.from.consumer.confirmAcks, false);
  assert.equal(orders.to.url, "streamsea+wss://client:s3cr%3Aet@sea.example");
  assert.equal(orders.to.system, "streamsea");
  assert.equal(orders.to.topic.render("orders.eu.1"), "audit.eu.1");
  assert.deepEqual(orders.transform, {
    specifier: "file:///etc/pubsub/enrich.ts",
    options: { country: "FI" },
    line: 15,
  });
  assert.deepEqual(orders.retry, { attempts: 5, delayMs: 200, maxDelayMs: 5000 });
  assert.equal(orders.deadLetter?.url, orders.to.url);
  assert.equal(orders.deadLetter?.topic.render("orders.eu.1"), "refused.orders.eu.1");
  assert.equal(orders.line, 6);
  assert.equal(plain.maxInFlight, 16);
  assert.equal(plain.from.settles, false);
  assert.equal(plain.to.topic.render("a"), "a");
  assert.equal(plain.deadLetter, undefined);
  assert.equal(plain.nakDelayMs, 1000);
});

Deno.test("parseConfig() refuses a secret written in the file, naming its line", () => {
  refused(
    withLine(14, `      "to": { "url": "streamsea+wss://client:plain-secret@sea.example" },`),
    14,
    /password is written/,
    VARS,
  );
  refused(withLine(10, `        "topic": "orders.>", "url": "x"`), 10, /given twice/, VARS);
  const token = withLine(9, `        "url": "nats://s3cret@n1:4222?jetstream",`);
  refused(token, 9, /token is written in the file/, VARS);
  const query = withLine(14, `      "to": { "url": "httppubsub+http://b:3003/?receiver=http://r&token=abc" },`);
  refused(query, 14, /query parameter token/, VARS);
  const err = refused(token, 9, /\$\{VARIABLE\}/, VARS);
  assert.ok(!err.message.includes("s3cret"), err.message);
});

Deno.test("parseConfig() refuses each mistake with its line and the reason", () => {
  refused(GOOD, 4, /environment variable PORT is not set/, { NATS_TOKEN: "t", SEA_SECRET: "s" });
  refused(GOOD, 9, /NATS_TOKEN is not set/, { PORT: "1", SEA_SECRET: "s" });
  refused(withLine(3, `  "replica": 3,`), 3, /unknown key "replica"/, VARS);
  refused(withLine(3, `  "replicas": 0,`), 3, /replicas: must be a whole number from 1/, VARS);
  refused(withLine(4, `  "listen": "nowhere",`), 4, /is not host:port/, VARS);
  refused(withLine(7, `      "name": "orders and more",`), 7, /letters, digits/, VARS);
  refused(withLine(16, `      "maxInFlight": 0,`), 16, /maxInFlight: must be a whole number from 1 to 10000/, VARS);
  refused(withLine(17, `      "retry": { "attempts": 5, "tries": 2 },`), 17, /unknown key "tries"/, VARS);
  refused(
    withLine(13, `      },`).replace(`"topic": "audit.{2..}"`, `"topic": "audit.{tpoic}"`),
    14,
    /unknown placeholder \{tpoic\}/,
    VARS,
  );
  refused(withLine(11, `        "deliver": "sometimes",`), 11, /deliver: must be "all"/, VARS);
  refused(withLine(11, `        "confirmAcks": "yes",`), 11, /confirmAcks: must be true or false/, VARS);
  refused(
    withLine(
      20,
      `    { "name": "plain", "from": { "url": "memory:", "topic": "a", "ackWaitMs": 5 }, "to": { "url": "memory:" } },`,
    ),
    20,
    /JetStream consumer option/,
    VARS,
  );
  refused(
    withLine(20, `    { "name": "orders", "from": { "url": "memory:", "topic": "a" }, "to": { "url": "memory:" } },`),
    20,
    /also the name of the route on line 6/,
    VARS,
  );
  refused(
    withLine(20, `    { "name": "p", "from": { "url": "nats://h:99999", "topic": "a" }, "to": { "url": "memory:" } },`),
    20,
    /port/,
    VARS,
  );
  refused(
    withLine(
      20,
      `    { "name": "p", "from": { "url": ["memory:", "memory:"], "topic": "a" }, "to": { "url": "memory:" } },`,
    ),
    20,
    /one NATS cluster only/,
    VARS,
  );
  refused(
    withLine(20, `    { "name": "p", "from": { "url": "memory:", "topic": "a" } },`),
    20,
    /"to" is missing/,
    VARS,
  );
  refused(
    withLine(20, `    { "name": "p", "from": { "url": "memory:" }, "to": { "url": "memory:" } },`),
    20,
    /"topic" is missing/,
    VARS,
  );
  refused(
    withLine(20, `    { "name": "p", "from": { "url": "bogus://h", "topic": "a" }, "to": { "url": "memory:" } },`),
    20,
    /scheme bogus/,
    VARS,
  );
  refused(
    withLine(20, `    { "name": "p" "from": { "url": "memory:", "topic": "a" }, "to": { "url": "memory:" } },`),
    20,
    /"," or "}"/,
    VARS,
  );
  refused(`{ "routes": [] }`, 1, /at least one route/);
  refused(`{\n  "listen": false\n}`, 1, /"routes" is missing/);
  refused(`[1]`, 1, /must be an object/);
});

Deno.test("parseConfig() takes $${ as a literal and leaves other dollars alone", () => {
  const c = parseConfig(
    `{"listen": false, "routes": [{"name": "a", "from": {"url": "memory:", "topic": "a$b"}, "to": {"url": "memory:?maxPayload=\${N}"}}]}`,
    { env: env({ N: "100" }) },
  );
  assert.equal(c.routes[0]!.from.topic, "a$b");
  assert.equal(c.routes[0]!.to.url, "memory:?maxPayload=100");
  assert.equal(c.listen, undefined);
  refused(`{\n  "listen": "127.0.0.1:$\${P}",\n  "routes": []\n}`, 2, /"127\.0\.0\.1:\$\{P\}" is not host:port/);
});
