import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { join } from "node:path";
import { describe, it } from "node:test";
import { REPORTS_DIR } from "../../src/report/html.js";

interface Box {
  left: number;
  right: number;
  top: number;
  bottom: number;
}
type Place = (
  points: Array<{ x: number; y: number; text: string }>,
  area: Box,
  measure: (text: string) => number,
  height: number,
) => Array<{ text: string; x: number; y: number; box: Box }>;

const { placeLabels } = createRequire(import.meta.url)(join(REPORTS_DIR, "chart-plugins.cjs")) as {
  placeLabels: Place;
};
const AREA = { left: 50, right: 850, top: 40, bottom: 400 };
// About 6 px per character at 11 px, as Liberation Sans measures.
const measure = (text: string) => text.length * 6;
const inside = (b: Box) =>
  b.left >= AREA.left && b.right <= AREA.right && b.top >= AREA.top && b.bottom <= AREA.bottom;
const overlap = (a: Box, b: Box) =>
  a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;

function assertClean(labels: ReturnType<Place>): void {
  for (const [i, a] of labels.entries()) {
    assert.ok(inside(a.box), `${a.text} inside the plot area: ${JSON.stringify(a.box)}`);
    for (const b of labels.slice(i + 1)) {
      assert.ok(!overlap(a.box, b.box), `${a.text} and ${b.text} overlap`);
    }
  }
}

describe("scatter point labels", () => {
  it("a point at the right edge is labelled on its left, inside the plot", () => {
    // The demo's fp16: the largest model, at the x axis's end.
    const [fp16] = placeLabels([{ x: 848, y: 100, text: "fp16" }], AREA, measure, 13);
    assert.ok(fp16 && fp16.box.right <= 848 - 8, JSON.stringify(fp16));
    const [low] = placeLabels([{ x: 400, y: 399, text: "int4" }], AREA, measure, 13);
    assert.ok(low && inside(low.box), "a point on the bottom edge keeps its label inside");
  });

  it("one variant on several suites at one place gets one label; different names never overlap", () => {
    const labels = placeLabels(
      [
        { x: 700, y: 60, text: "fp16" },
        { x: 700, y: 60, text: "fp16" },
        { x: 700, y: 61, text: "fp16" },
        { x: 400, y: 58, text: "int8" },
        { x: 400, y: 66, text: "int8" },
        { x: 400, y: 62, text: "q8_0" },
        { x: 402, y: 62, text: "q6_k" },
      ],
      AREA,
      measure,
      13,
    );
    assert.deepEqual(
      labels.map((l) => l.text),
      ["fp16", "int8", "q8_0", "q6_k"],
    );
    assertClean(labels);
  });

  it("ten variants crowded into one corner all stay inside and apart", () => {
    const names = [
      "f16",
      "q8_0",
      "q6_k",
      "q5_k_m",
      "q5_0",
      "q4_k_m",
      "q4_0",
      "q3_k_m",
      "q2_k",
      "iq2_xs",
    ];
    const labels = placeLabels(
      names.map((text, i) => ({ x: 845 - i, y: 42 + i * 2, text })),
      AREA,
      measure,
      13,
    );
    assert.equal(labels.length, 10);
    assertClean(labels);
  });
});
