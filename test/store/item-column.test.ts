import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ItemColumn, ItemTables, pairValues } from "../../src/store/item-column.js";

const NaN_ = Number.NaN;

describe("item columns", () => {
  it("read as the map they stand for: size, get, has and every iterator skip the items without a value", () => {
    const tables = new ItemTables();
    const column = new ItemColumn(
      tables.intern("qa", ["a", "b", "c"]),
      Float64Array.of(1, NaN_, 0),
    );
    const map = new Map([
      ["a", 1],
      ["c", 0],
    ]);
    assert.equal(column.size, 2);
    assert.deepEqual([...column], [...map]);
    assert.deepEqual([...column.keys()], [...map.keys()]);
    assert.deepEqual([...column.values()], [...map.values()]);
    assert.equal(column.get("b"), undefined);
    assert.equal(column.get("c"), 0);
    assert.equal(column.get("z"), undefined);
    assert.equal(column.has("a") && !column.has("b"), true);
  });

  it("pair by position when two variants share a table, by lookup otherwise, with the same pairs", () => {
    const tables = new ItemTables();
    const ids = ["x1", "x2", "x3", "x4"];
    const shared = tables.intern("qa", ids);
    assert.equal(tables.intern("qa", [...ids]), shared, "an equal item list is the same table");
    assert.notEqual(tables.intern("other", ids), shared, "another suite has its own");
    const base = new ItemColumn(shared, Float64Array.of(1, 1, NaN_, 0));
    const variant = new ItemColumn(shared, Float64Array.of(0, NaN_, 1, 1));
    const asMap = new Map([
      ["x1", 0],
      ["x3", 1],
      ["x4", 1],
    ]);
    const want = { first: [1, 0], second: [0, 1] };
    assert.deepEqual(pairValues(base, variant), want);
    assert.deepEqual(pairValues(base, asMap), want);
    assert.deepEqual(pairValues(new Map([...base]), variant), want);
    assert.deepEqual(pairValues(base, undefined), { first: [], second: [] });
  });
});
