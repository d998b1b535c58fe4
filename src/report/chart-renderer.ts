import { createRequire } from "node:module";
import { join } from "node:path";
import type { Plugin } from "chart.js";
import { type ChartSpec, toChartConfig } from "./chart-spec.js";
import { REPORTS_DIR } from "./html.js";

export interface ChartSize {
  /** CSS pixels; the image is `scale` times larger for sharp text. */
  width: number;
  height: number;
  scale: number;
}

/** Draws report charts as images, for places that cannot show the HTML report. */
export interface ChartRenderer {
  /** PNG bytes of one chart. */
  renderPng(spec: ChartSpec, size?: Partial<ChartSize>): Promise<Buffer>;
}

export const DEFAULT_CHART_SIZE: ChartSize = { width: 900, height: 480, scale: 2 };

/**
 * chart.js on @napi-rs/canvas (prebuilt Skia binaries from the npm registry): loaded only when
 * PNGs are asked for, with the report's own chart plugins and no animation, so each PNG is
 * drawn in one pass.
 */
export async function createChartRenderer(): Promise<ChartRenderer> {
  const [{ Chart, registerables }, { createCanvas }] = await Promise.all([
    import("chart.js"),
    import("@napi-rs/canvas"),
  ]);
  const plugins = createRequire(import.meta.url)(join(REPORTS_DIR, "chart-plugins.cjs")) as {
    background: Plugin;
    pointLabels: Plugin;
  };
  Chart.register(...registerables, plugins.background, plugins.pointLabels);
  return {
    async renderPng(spec, size = {}) {
      const { width, height, scale } = { ...DEFAULT_CHART_SIZE, ...size };
      const canvas = createCanvas(width, height);
      const config = toChartConfig(spec, { responsive: false });
      config.options.devicePixelRatio = scale;
      // chart.js accepts any 2D context; @napi-rs/canvas's is structurally one, not the DOM type.
      const chart = new Chart(
        canvas.getContext("2d") as unknown as CanvasRenderingContext2D,
        config as never,
      );
      try {
        return await canvas.encode("png");
      } finally {
        chart.destroy();
      }
    },
  };
}
