import assert from "node:assert/strict";
import { compileGlob, escapeGlob, matchGlob } from "../../src/httppubsub/glob.ts";
import { toServerGlob } from "../../src/httppubsub/adapter.ts";
import { matchTopic } from "../../mod.ts";

Deno.test("matchGlob() lets * cross / as SQLite GLOB does", () => {
  assert.ok(matchGlob("baz/*", "baz/q/r"));
  assert.ok(matchGlob("baz/*", "baz/"));
  assert.ok(!matchGlob("baz/*", "baz"));
  assert.ok(matchGlob("*", ""));
  assert.ok(matchGlob("a*b*c", "a/x/b/y/c"));
  assert.ok(!matchGlob("a*b*c", "a/x/b/y/d"));
});

Deno.test("matchGlob() supports ?, classes, negation and ranges, case-sensitively", () => {
  assert.ok(matchGlob("a?c", "abc"));
  assert.ok(matchGlob("a?c", "aéc"));
  assert.ok(!matchGlob("a?c", "ac"));
  assert.ok(matchGlob("[a-c]x", "bx"));
  assert.ok(!matchGlob("[a-c]x", "dx"));
  assert.ok(matchGlob("[^a-c]x", "dx"));
  assert.ok(!matchGlob("[^a-c]x", "ax"));
  assert.ok(matchGlob("[]]", "]"));
  assert.ok(!matchGlob("A*", "abc"));
  assert.ok(!matchGlob("[abc", "a"), "an unterminated class matches nothing");
});

Deno.test("escapeGlob() makes wildcard characters literal", () => {
  const g = compileGlob(escapeGlob("a*?[b"));
  assert.ok(g("a*?[b"));
  assert.ok(!g("axx[b"));
});

Deno.test("toServerGlob() covers every topic the contract pattern matches", () => {
  const cases: [string, string[]][] = [
    ["logs/*", ["logs/a", "logs/a/b", "log", "logs"]],
    ["a/**", ["a", "a/b", "a/b/c", "ab"]],
    ["**/x", ["x", "a/x", "b"]],
    ["a/*/c", ["a/b/c", "a/b/d", "a/c"]],
    ["we*rd/*", ["we*rd/x", "weird/x"]],
  ];
  for (const [pattern, topics] of cases) {
    const server = compileGlob(toServerGlob(pattern));
    for (const t of topics) {
      if (matchTopic(pattern, t)) assert.ok(server(t), `${toServerGlob(pattern)} should cover ${t} for ${pattern}`);
    }
  }
  assert.equal(toServerGlob("we*rd/*"), "we[*]rd/*");
  assert.ok(!compileGlob(toServerGlob("we*rd/*"))("weird/x"));
});
