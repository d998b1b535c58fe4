// chart.js plugins shared by the HTML report (inlined before its script) and the PNG renderer
// (required from Node), so both draw the same background and point labels.
(function define(root) {
  const background = {
    id: "qbenchBackground",
    beforeDraw(chart, _args, options) {
      const ctx = chart.ctx;
      ctx.save();
      ctx.globalCompositeOperation = "destination-over";
      ctx.fillStyle = options.color || "#ffffff";
      ctx.fillRect(0, 0, chart.width, chart.height);
      ctx.restore();
    },
  };

  // Scatter points carry a `label` (the variant); drawn beside each point, as a PNG has no tooltips.
  const pointLabels = {
    id: "qbenchPointLabels",
    afterDatasetsDraw(chart, _args, options) {
      if (!options.enabled) return;
      const ctx = chart.ctx;
      ctx.save();
      ctx.fillStyle = options.color || "#1f2933";
      ctx.font = "11px Liberation Sans, Arial, Helvetica, sans-serif";
      ctx.textBaseline = "middle";
      chart.data.datasets.forEach((dataset, i) => {
        const meta = chart.getDatasetMeta(i);
        if (meta.hidden) return;
        meta.data.forEach((element, j) => {
          const point = dataset.data[j];
          if (point && typeof point.label === "string") {
            ctx.fillText(point.label, element.x + 8, element.y);
          }
        });
      });
      ctx.restore();
    },
  };

  const plugins = { background, pointLabels };
  if (typeof module === "object" && module.exports) module.exports = plugins;
  else root.qbenchChartPlugins = plugins;
})(typeof globalThis === "object" ? globalThis : this);
