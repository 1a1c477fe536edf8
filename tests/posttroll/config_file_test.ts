import assert from "node:assert/strict";
import { parseConfigText, resolveScalar } from "../../src/posttroll/config_file.ts";

Deno.test("resolveScalar() resolves plain scalars as PyYAML's safe_load (YAML 1.1)", () => {
  const cases: [string, unknown][] = [
    ["", null],
    ["~", null],
    ["Null", null],
    ["yes", true],
    ["On", true],
    ["no", false],
    ["OFF", false],
    ["false", false],
    ["5557", 5557],
    ["-12", -12],
    ["+7", 7],
    ["1_000", 1000],
    ["0755", 493],
    ["0x1F", 31],
    ["0b101", 5],
    ["0", 0],
    ["1.5", 1.5],
    ["1.0e+3", 1000],
    ["1e3", "1e3"],
    [".5", 0.5],
    ["-.inf", -Infinity],
    ["secure_zmq", "secure_zmq"],
    ["225.0.0.212", "225.0.0.212"],
    ["v1.01", "v1.01"],
    ["/etc/keys/server.key_secret", "/etc/keys/server.key_secret"],
  ];
  for (const [text, expected] of cases) assert.deepEqual(resolveScalar(text), expected, text);
  assert.ok(Number.isNaN(resolveScalar(".nan")));
});

Deno.test("parseConfigText() reads the YAML settings files use, and JSON", () => {
  const text = `# posttroll settings
---
backend: secure_zmq   # CURVE
nameserver_port: 15557
message_version: 'v1.01'
mc_group: "225.0.0.212"
quote: 'it''s'
url: http://host/x#frag
empty:
authorized_client_addresses:
  - 127.0.0.1
  - '10.0.0.1'
inline: [1, 'two, three', yes,]
flat_list:
- a
- b
nested:
  deeper:
    value: 0x10
`;
  assert.deepEqual(parseConfigText(text), {
    backend: "secure_zmq",
    nameserver_port: 15557,
    message_version: "v1.01",
    mc_group: "225.0.0.212",
    quote: "it's",
    url: "http://host/x#frag",
    empty: null,
    authorized_client_addresses: ["127.0.0.1", "10.0.0.1"],
    inline: [1, "two, three", true],
    flat_list: ["a", "b"],
    nested: { deeper: { value: 16 } },
  });
  assert.deepEqual(parseConfigText('{"backend": "secure_zmq", "nameserver_port": 1}'), {
    backend: "secure_zmq",
    nameserver_port: 1,
  });
  assert.equal(parseConfigText("# only a comment\n\n"), null);
});

Deno.test("parseConfigText() refuses what it does not read, saying what and where", () => {
  const cases: [string, RegExp][] = [
    ["a: &anchor 1\n", /line 1: the construct/],
    ["a: !!str 1\n", /line 1: the construct/],
    ["a: |\n  text\n", /line 1: the construct/],
    ["a: {b: 1}\n", /line 1: the construct/],
    ["a: 1\n---\nb: 2\n", /line 2: several documents/],
    ["a:\n\t- 1\n", /line 2: a tab/],
    ["a: b: c\n", /line 1: a mapping in a value/],
    ["a: 1\n   b: 2\n", /line 2: indentation/],
    ["a: 'open\n", /line 1: an unterminated quoted string/],
    ["just words\n", /line 1: a line that is not "name: value"/],
    ["a: [1, [2]]\n", /line 1: nested collections/],
    ["a: [1,,2]\n", /line 1: an empty item/],
    ["a: - y\n", /line 1: a list in a value/],
    ["a:\n  - - y\n", /line 2: a list in a value/],
    ['a: "\\x41"\n', /line 1: the escape/],
  ];
  for (const [text, pattern] of cases) {
    assert.throws(() => parseConfigText(text), (e) => e instanceof SyntaxError && pattern.test(e.message), text);
  }
});
