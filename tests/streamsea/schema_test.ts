import assert from "node:assert/strict";
import {
  checkSchemaDefinition,
  FieldType,
  formatStreamSeaDate,
  isSchemaDefinition,
  isStreamSeaDate,
  type SchemaDefinition,
  validate,
} from "../../src/streamsea/mod.ts";
import { formatViolations } from "../../src/streamsea/schema.ts";

// The schema JSON of spec §6.1.
const BOILER: SchemaDefinition = {
  name: "boiler_data",
  version: 1,
  fields: [
    { name: "temperature", type: "integer" },
    { name: "side", type: "enum", enum: ["port", "starboard"] },
    { name: "moves", type: "array<object>", fields: [{ name: "load", type: "string" }] },
  ],
};

const ALL: SchemaDefinition = {
  name: "all",
  version: 3,
  fields: [
    { name: "s", type: FieldType.STRING },
    { name: "f", type: FieldType.FLOAT },
    { name: "i", type: FieldType.INTEGER },
    { name: "d", type: FieldType.DATE },
    { name: "sa", type: FieldType.STRING_ARRAY },
    { name: "fa", type: FieldType.FLOAT_ARRAY },
    { name: "ia", type: FieldType.INTEGER_ARRAY },
    { name: "da", type: FieldType.DATE_ARRAY },
    { name: "e", type: FieldType.ENUM, enum: ["a", "b"] },
    {
      name: "o",
      type: FieldType.OBJECT,
      fields: [{ name: "inner", type: "object", fields: [{ name: "deep", type: "integer" }] }],
    },
    { name: "oa", type: FieldType.OBJECT_ARRAY, fields: [{ name: "x", type: "float" }] },
  ],
};

const VALID = {
  s: "text",
  f: 1.5,
  i: 7,
  d: "2020-03-18T10:00:00Z",
  sa: ["a", "b"],
  fa: [1, 2.5],
  ia: [1, 2],
  da: ["2020-01-01T00:00:00Z"],
  e: "b",
  o: { inner: { deep: 1 } },
  oa: [{ x: 1 }, { x: 2.25 }],
};

function paths(payload: unknown, schema = ALL): string[] {
  return validate(payload, schema).map((v) => v.path);
}

Deno.test("FieldType has the eleven wire strings of the spec", () => {
  assert.deepEqual(Object.values(FieldType).sort(), [
    "array<date>",
    "array<float>",
    "array<integer>",
    "array<object>",
    "array<string>",
    "date",
    "enum",
    "float",
    "integer",
    "object",
    "string",
  ]);
});

Deno.test("validate() accepts a payload using every field type", () => {
  assert.deepEqual(validate(VALID, ALL), []);
  assert.deepEqual(validate({ temperature: 80, side: "port", moves: [{ load: "x" }] }, BOILER), []);
});

Deno.test("validate() accepts integers as floats and empty arrays", () => {
  assert.deepEqual(validate({ ...VALID, f: 3, fa: [], oa: [] }, ALL), []);
});

Deno.test("validate() reports a wrong value of each scalar type with its path", () => {
  const cases: [string, unknown, string][] = [
    ["s", 1, "is the number 1, not a string"],
    ["f", "1", 'is the string "1", not a number'],
    ["i", 1.5, "is the number 1.5, not an integer"],
    ["d", "2020-03-18", 'is the string "2020-03-18", not a YYYY-MM-DDTHH:mm:ssZ date'],
    ["e", "c", 'is the string "c", not one of a, b'],
    ["o", [], "is an array, not an object"],
    ["oa", {}, "is an object, not an array"],
  ];
  for (const [key, value, message] of cases) {
    assert.deepEqual(validate({ ...VALID, [key]: value }, ALL), [{ path: key, message }], key);
  }
});

Deno.test("validate() reports wrong array elements with their index", () => {
  assert.deepEqual(paths({ ...VALID, sa: ["a", 2] }), ["sa[1]"]);
  assert.deepEqual(paths({ ...VALID, fa: [1, "x"] }), ["fa[1]"]);
  assert.deepEqual(paths({ ...VALID, ia: [1.1] }), ["ia[0]"]);
  assert.deepEqual(paths({ ...VALID, da: ["2020-01-01T00:00:00.000Z"] }), ["da[0]"]);
  assert.deepEqual(paths({ ...VALID, oa: [{ x: 1 }, { x: "no" }, 5] }), ["oa[1].x", "oa[2]"]);
});

Deno.test("validate() reports nested object violations with a dotted path", () => {
  assert.deepEqual(paths({ ...VALID, o: { inner: { deep: "1" } } }), ["o.inner.deep"]);
  assert.deepEqual(paths({ ...VALID, o: { inner: {} } }), ["o.inner.deep"]);
  assert.deepEqual(paths({ ...VALID, o: { inner: null } }), ["o.inner"]);
});

Deno.test("validate() gives every violation, not just the first", () => {
  const bad = { s: 1, f: "x", i: null, e: "z", oa: [{}] };
  assert.deepEqual(paths(bad), ["s", "f", "i", "d", "sa", "fa", "ia", "da", "e", "o", "oa[0].x"]);
});

Deno.test("validate() requires every declared field and allows extras by default", () => {
  assert.deepEqual(validate({ temperature: 1, side: "port", moves: [], extra: true }, BOILER), []);
  assert.deepEqual(validate({ side: "port", moves: [] }, BOILER), [{ path: "temperature", message: "is missing" }]);
});

Deno.test("validate() follows its strictness options", () => {
  const payload = { temperature: null, side: "port", extra: 1 };
  assert.deepEqual(validate(payload, BOILER, { requireAll: false, allowNull: true }), []);
  assert.deepEqual(validate(payload, BOILER, { requireAll: false, allowNull: true, allowExtra: false }), [
    { path: "extra", message: "is not declared by the schema" },
  ]);
  const dates: SchemaDefinition = { name: "d", version: 1, fields: [{ name: "d", type: "date" }] };
  assert.equal(validate({ d: "2020-03-18T10:00:00.123Z" }, dates).length, 1);
  assert.deepEqual(validate({ d: "2020-03-18T10:00:00.123Z" }, dates, { strictDates: false }), []);
  assert.equal(validate({ d: "not a date" }, dates, { strictDates: false }).length, 1);
});

Deno.test("validate() checks each element of a batch with an [i] path", () => {
  assert.deepEqual(
    paths([{ temperature: 1, side: "port", moves: [] }, { temperature: "x", side: "port", moves: [] }], BOILER),
    ["[1].temperature"],
  );
  assert.deepEqual(paths("not an object", BOILER), [""]);
  assert.deepEqual(formatViolations(validate(3, BOILER)), ["The payload is the number 3, not an object"]);
});

Deno.test("isStreamSeaDate() accepts only real YYYY-MM-DDTHH:mm:ssZ times", () => {
  for (const ok of ["2020-02-29T23:59:59Z", "1970-01-01T00:00:00Z"]) assert.ok(isStreamSeaDate(ok), ok);
  for (
    const bad of [
      "2021-02-29T00:00:00Z",
      "2020-13-01T00:00:00Z",
      "2020-01-01T24:00:00Z",
      "2020-01-01T00:60:00Z",
      "2020-01-01 00:00:00Z",
      "2020-01-01T00:00:00+00:00",
      "2020-01-01T00:00:00",
    ]
  ) assert.ok(!isStreamSeaDate(bad), bad);
  assert.equal(formatStreamSeaDate(new Date(Date.UTC(2020, 2, 18, 10, 0, 0, 999))), "2020-03-18T10:00:00Z");
  assert.throws(() => formatStreamSeaDate(new Date("nope")), RangeError);
});

Deno.test("checkSchemaDefinition() accepts the spec's schema and lists each problem", () => {
  assert.deepEqual(checkSchemaDefinition(BOILER), []);
  assert.ok(isSchemaDefinition(ALL));
  assert.deepEqual(
    checkSchemaDefinition({
      name: "",
      version: "1",
      fields: [
        { name: "a", type: "text" },
        { name: "a", type: "string" },
        { name: "e", type: "enum" },
        { name: "o", type: "object" },
        7,
      ],
    }),
    [
      "name is not a non-empty string",
      'version is the string "1", not an integer',
      'fields[0].type "text" is not a field type',
      'fields[1].name "a" is declared twice',
      "fields[2].enum is not an array of strings",
      "fields[3].fields is undefined, not an array",
      "fields[4] is the number 7, not an object",
    ],
  );
  assert.deepEqual(checkSchemaDefinition(null), ["the schema is null, not an object"]);
});
