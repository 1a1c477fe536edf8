// TransformRunner: each message gets exactly the outputs its own transform() enqueued (the expected outputs are
// computed by the test from the message, independently of the stream), whatever the stream's shape.
import assert from "node:assert/strict";
import { createMessage, type Message } from "../../src/core/message.ts";
import { loadTransform, TransformError, type TransformOutput, TransformRunner } from "../../src/serve/transform.ts";
import { rng } from "../_seeded.ts";

const text = (o: TransformOutput) => typeof o.data === "string" ? o.data : new TextDecoder().decode(o.data);

/** What the test transform emits for message n: n % 4 outputs (none when n % 5 == 0). */
function expected(n: number): string[] {
  if (n % 5 === 0) return [];
  return Array.from({ length: n % 4 }, (_, i) => `${n}:${i}`);
}

Deno.test("TransformRunner.run() gives each message its own outputs: filtered, mapped, split, awaited", async () => {
  const random = rng(1234);
  const shapes: [string, () => TransformStream<Message, TransformOutput>][] = [
    ["synchronous", () =>
      new TransformStream({
        transform(m, c) {
          for (const d of expected(Number(m.text()))) c.enqueue({ data: d });
        },
      })],
    ["awaits between outputs", () =>
      new TransformStream({
        async transform(m, c) {
          for (const d of expected(Number(m.text()))) {
            await new Promise((r) => setTimeout(r, random() < 0.3 ? 1 : 0));
            c.enqueue(createMessage(`t.${d}`, d));
          }
        },
      })],
    ["readable highWaterMark 3", () =>
      new TransformStream(
        {
          transform(m, c) {
            for (const d of expected(Number(m.text()))) c.enqueue({ data: d, topic: "x" });
          },
        },
        undefined,
        { highWaterMark: 3 },
      )],
  ];
  for (const [name, make] of shapes) {
    const runner = new TransformRunner(make, { route: "r", options: undefined });
    for (let n = 0; n < 120; n++) {
      const out = await runner.run(createMessage("in", String(n)));
      assert.deepEqual(out.map(text), expected(n), `${name}, message ${n}`);
    }
    await runner.close();
  }
});

Deno.test("TransformRunner.run() splits one message into 500 outputs, all attributed to it", async () => {
  const runner = new TransformRunner(() =>
    new TransformStream<Message, TransformOutput>({
      transform(m, c) {
        for (let i = 0; i < 500; i++) c.enqueue({ data: `${m.text()}-${i}` });
      },
    }), { route: "r", options: undefined });
  for (const n of ["a", "b"]) {
    const out = await runner.run(createMessage("in", n));
    assert.equal(out.length, 500);
    assert.ok(out.every((o) => text(o).startsWith(`${n}-`)));
  }
  await runner.close();
});

Deno.test("TransformRunner.run() fails one message when transform() throws, and makes a new stream for the next", async () => {
  let made = 0;
  const runner = new TransformRunner(({ options }) => {
    made++;
    return new TransformStream<Message, TransformOutput>({
      transform(m, c) {
        if (m.text() === (options as { poison: string }).poison) throw new Error("poison");
        c.enqueue({ data: m.text().toUpperCase() });
      },
    });
  }, { route: "r", options: { poison: "bad" } });
  assert.deepEqual((await runner.run(createMessage("in", "a"))).map(text), ["A"]);
  await assert.rejects(
    runner.run(createMessage("in", "bad")),
    (e: unknown) => e instanceof TransformError && /poison/.test(e.message),
  );
  assert.deepEqual((await runner.run(createMessage("in", "b"))).map(text), ["B"]);
  assert.equal(made, 2);
  await runner.close();
});

Deno.test("TransformRunner.run() refuses outputs that are neither messages nor { data }", async () => {
  for (const bad of [42, null, { data: 42 }, { topic: "t" }, { data: "x", topic: "" }, ["x"]]) {
    const runner = new TransformRunner(() =>
      new TransformStream<Message, TransformOutput>({
        transform(_m, c) {
          c.enqueue(bad as unknown as TransformOutput);
        },
      }), { route: "r", options: undefined });
    await assert.rejects(runner.run(createMessage("in", "a")), TransformError, JSON.stringify(bad));
    await runner.close();
  }
});

Deno.test("TransformRunner: what a stream enqueues after transform() settled counts for the next message", async () => {
  const runner = new TransformRunner(() =>
    new TransformStream<Message, TransformOutput>({
      transform(m, c) {
        setTimeout(() => c.enqueue({ data: `late ${m.text()}` }), 0);
      },
    }), { route: "r", options: undefined });
  assert.deepEqual(await runner.run(createMessage("in", "1")), []);
  await new Promise((r) => setTimeout(r, 5));
  assert.deepEqual((await runner.run(createMessage("in", "2"))).map(text), ["late 1"]);
  await new Promise((r) => setTimeout(r, 5));
  await runner.close();
});

Deno.test("TransformRunner.start() reports a factory that throws or returns no TransformStream", async () => {
  await assert.rejects(
    new TransformRunner(() => {
      throw new Error("no config");
    }, { route: "r", options: undefined }).start(),
    (e: unknown) => e instanceof TransformError && /no config/.test(e.message),
  );
  await assert.rejects(
    new TransformRunner(() => ({}) as TransformStream, { route: "r", options: undefined }).start(),
    /did not return a TransformStream/,
  );
});

Deno.test("loadTransform() loads a module's default export, and refuses one without", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(
      `${dir}/good.ts`,
      `export default () => new TransformStream({ transform(m, c) { c.enqueue({ data: "x" + m.text() }); } });`,
    );
    await Deno.writeTextFile(`${dir}/none.ts`, `export const x = 1;`);
    await Deno.writeTextFile(`${dir}/broken.ts`, `export default (;`);
    const factory = await loadTransform(`file://${dir}/good.ts`);
    const runner = new TransformRunner(factory, { route: "r", options: undefined });
    assert.deepEqual((await runner.run(createMessage("in", "1"))).map(text), ["x1"]);
    await runner.close();
    await assert.rejects(loadTransform(`file://${dir}/none.ts`), /no default export/);
    await assert.rejects(loadTransform(`file://${dir}/broken.ts`), TransformError);
    await assert.rejects(loadTransform(`file://${dir}/missing.ts`), TransformError);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
