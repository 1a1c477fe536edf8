// The JSONC reader: values as JSON.parse reads them (the independent truth for comment-free text), positions
// counted by hand, every syntax mistake a JsoncSyntaxError with its line, and a fuzzer bounding time and errors.
import assert from "node:assert/strict";
import { type JsoncNode, JsoncSyntaxError, parseJsonc, plainValue } from "../../src/serve/jsonc.ts";
import { rng } from "../_seeded.ts";

Deno.test("parseJsonc() reads what JSON.parse reads, for text without comments", () => {
  const docs = [
    `{"a":1,"b":[true,false,null],"c":{"d":"x\\u00e9\\n\\"q\\""},"e":-1.5e3,"f":0}`,
    `[]`,
    `"just a string"`,
    `  [1, 2.25, -0, 1E2, "\\/\\b\\f\\r\\t"]  `,
    `{"nested":[[[[{"deep":["ok"]}]]]]}`,
    `{"__proto__": {"polluted": true}}`,
  ];
  for (const d of docs) assert.deepEqual(plainValue(parseJsonc(d)), JSON.parse(d), d);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
});

Deno.test("parseJsonc() skips comments and trailing commas, and a byte order mark", () => {
  const text = '\ufeff// head\n{\n  /* block\n  comment */ "a": 1, // tail\n  "b": [1, 2,],\n}\n/* end */';
  assert.deepEqual(plainValue(parseJsonc(text)), { a: 1, b: [1, 2] });
  assert.deepEqual(plainValue(parseJsonc(`{"url": "nats://h//x", "c": "/* not a comment */"}`)), {
    url: "nats://h//x",
    c: "/* not a comment */",
  });
});

Deno.test("parseJsonc() keeps the line and column of every value and key", () => {
  const text = [
    "{", // 1
    "  // a comment", // 2
    '  "routes": [', // 3
    "    {", // 4
    '      "name": "x", /* c */ "n": 12', // 5
    "    }", // 6
    "  ]", // 7
    "}", // 8
  ].join("\n");
  const root = parseJsonc(text);
  assert.equal(root.type, "object");
  if (root.type !== "object") return;
  const routes = root.entries[0]!;
  assert.deepEqual([routes.key, routes.at.line, routes.at.column], ["routes", 3, 3]);
  assert.deepEqual([routes.node.line, routes.node.column], [3, 13]);
  const route = (routes.node as Extract<JsoncNode, { type: "array" }>).items[0] as Extract<
    JsoncNode,
    { type: "object" }
  >;
  assert.deepEqual([route.line, route.column], [4, 5]);
  const [name, n] = route.entries;
  assert.deepEqual([name!.at.line, name!.at.column, name!.node.line, name!.node.column], [5, 7, 5, 15]);
  assert.deepEqual([n!.at.line, n!.at.column, n!.node.line, n!.node.column, plainValue(n!.node)], [5, 28, 5, 33, 12]);
});

Deno.test("parseJsonc() refuses mistakes with their line and column", () => {
  const cases: [string, number, number, RegExp][] = [
    ['{\n  "a": 1\n  "b": 2\n}', 3, 3, /"," or "}" is expected/],
    ["{\n  'a': 1\n}", 2, 3, /double quotes/],
    ['{\n "a": 1,\n "a": 2\n}', 3, 2, /given twice/],
    ["[1,\n 2\n", 3, 1, /the end of the file/],
    ["/* never closed\n{}", 1, 1, /comment is not closed/],
    ['{"a": "line\nbreak"}', 1, 12, /control character/],
    ['{"a": "\\x"}', 1, 8, /Unknown escape/],
    ['{"a": 01}', 1, 7, /Invalid number/],
    ["{} x", 1, 4, /after the value/],
    ["", 1, 1, /empty/],
    ['{"a": tru}', 1, 7, /a value is expected/],
    ['{"a" 1}', 1, 6, /":" is expected/],
  ];
  for (const [text, line, column, reason] of cases) {
    assert.throws(() => parseJsonc(text), JsoncSyntaxError, text);
    try {
      parseJsonc(text);
    } catch (e) {
      const s = e as JsoncSyntaxError;
      assert.deepEqual([s.line, s.column], [line, column], `${JSON.stringify(text)}: ${s.message}`);
      assert.match(s.reason, reason);
    }
  }
});

Deno.test("parseJsonc() refuses nesting deeper than 64 levels instead of overflowing the stack", () => {
  assert.deepEqual(
    plainValue(parseJsonc("[".repeat(60) + "]".repeat(60))),
    JSON.parse("[".repeat(60) + "]".repeat(60)),
  );
  assert.throws(
    () => parseJsonc("[".repeat(100_000)),
    (e: unknown) => e instanceof JsoncSyntaxError && /Nesting/.test(e.message),
  );
});

Deno.test("parseJsonc() on random and mutated input: only JsoncSyntaxError, each within bounded time", () => {
  const seed = 0x5e12e;
  const random = rng(seed);
  const base = `{ "routes": [ { "name": "a", "from": { "url": "nats://h:4222?jetstream", "topic": "x.>" }, // c
    "to": { "topic": "y.{topic}" } } ], /* z */ "n": -1.5e3, "t": [true, false, null] }`;
  const alphabet = `{}[]",:/*\\ \n\t0123456789-+.eEtrufalsn\u00e9'`;
  for (let i = 0; i < 3000; i++) {
    let text: string;
    if (i % 2 === 0) {
      const chars = [...base];
      const edits = 1 + Math.floor(random() * 4);
      for (let k = 0; k < edits; k++) {
        const at = Math.floor(random() * chars.length);
        const op = random();
        if (op < 0.4) chars.splice(at, 1);
        else if (op < 0.8) chars.splice(at, 0, alphabet[Math.floor(random() * alphabet.length)]!);
        else chars[at] = alphabet[Math.floor(random() * alphabet.length)]!;
      }
      text = chars.join("");
    } else {
      text = Array.from({ length: Math.floor(random() * 60) }, () => alphabet[Math.floor(random() * alphabet.length)])
        .join("");
    }
    const t0 = performance.now();
    try {
      const node = parseJsonc(text);
      plainValue(node);
    } catch (err) {
      assert.ok(err instanceof JsoncSyntaxError, `seed ${seed}, case ${i}: ${JSON.stringify(text)}: ${err}`);
      assert.ok(err.line >= 1 && err.column >= 1);
    }
    assert.ok(performance.now() - t0 < 250, `case ${i} took too long`);
  }
});
