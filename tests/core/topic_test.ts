import assert from "node:assert/strict";
import { checkTopic } from "../../src/core/topic.ts";
import { compileTopicPattern, isTopicPattern, matchTopic } from "../../mod.ts";

Deno.test("matchTopic() matches * to one segment and ** to any number", () => {
  const cases: [string, string, boolean][] = [
    ["a/b", "a/b", true],
    ["a/b", "a/c", false],
    ["a/*", "a/b", true],
    ["a/*", "a/b/c", false],
    ["a/*", "a", false],
    ["*/b", "x/b", true],
    ["a/**", "a", true],
    ["a/**", "a/b/c", true],
    ["**", "anything/at/all", true],
    ["a/**/z", "a/z", true],
    ["a/**/z", "a/b/c/z", true],
    ["a/**/z", "a/b/c/y", false],
    ["a/**/**/z", "a/z", true],
    ["a/*/**", "a", false],
    ["a/*/**", "a/b", true],
    ["a/b*", "a/bc", false],
    ["a/b*", "a/b*", true],
  ];
  for (const [pattern, topic, want] of cases) {
    assert.equal(matchTopic(pattern, topic), want, `${pattern} vs ${topic}`);
  }
});

Deno.test("compileTopicPattern() is not exponential on long topics", () => {
  const m = compileTopicPattern("**/**/**/**/**/**/x");
  assert.equal(m(Array.from({ length: 40 }, () => "a").join("/")), false);
});

Deno.test("isTopicPattern() and checkTopic() tell patterns from topics", () => {
  assert.equal(isTopicPattern("a/*"), true);
  assert.equal(isTopicPattern("a/b"), false);
  assert.throws(() => checkTopic("", "Publishing"), TypeError);
  assert.throws(() => checkTopic(3, "Publishing"), TypeError);
  assert.throws(() => checkTopic("a/*", "Publishing"), /contains a wildcard/);
  checkTopic("a/*", "Subscribing", true);
});
