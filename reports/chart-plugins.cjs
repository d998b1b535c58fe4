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

  const GAP = 8;
  const MARKER = 7;

  const overlaps = (a, b) =>
    a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
  const inside = (box, area) =>
    box.left >= area.left &&
    box.right <= area.right &&
    box.top >= area.top &&
    box.bottom <= area.bottom;

  // Where each point's label goes: beside its point, inside the plot area, clear of the other
  // labels and markers. Points with the same label whose labels would collide share one label
  // (the same variant on two suites at the same place). Pure, so it is tested from Node.
  function placeLabels(points, area, measure, height) {
    const markers = points.map((p) => ({
      left: p.x - MARKER,
      right: p.x + MARKER,
      top: p.y - MARKER,
      bottom: p.y + MARKER,
    }));
    const placed = [];
    for (const p of points) {
      const width = measure(p.text);
      const at = (left, centre) => ({
        left,
        right: left + width,
        top: centre - height / 2,
        bottom: centre + height / 2,
      });
      const right = at(p.x + GAP, p.y);
      const twin = (l) =>
        l.text === p.text && Math.abs(l.x - p.x) < width && Math.abs(l.y - p.y) < height;
      if (placed.some(twin)) continue;
      const candidates = [right, at(p.x - GAP - width, p.y)];
      candidates.push(
        at(p.x - width / 2, p.y - GAP - height / 2),
        at(p.x - width / 2, p.y + GAP + height / 2),
      );
      // Then further up or down the same sides, as far as the plot reaches.
      const steps = Math.ceil((area.bottom - area.top) / height);
      for (let k = 1; k <= steps; k++) {
        for (const dy of [-k * height, k * height]) {
          candidates.push(at(p.x + GAP, p.y + dy), at(p.x - GAP - width, p.y + dy));
        }
      }
      const clear = (box) =>
        inside(box, area) &&
        !placed.some((l) => overlaps(l.box, box)) &&
        !markers.some((m) => overlaps(m, box));
      const clamp = (box) => {
        const dx = Math.max(area.left - box.left, Math.min(0, area.right - box.right));
        const dy = Math.max(area.top - box.top, Math.min(0, area.bottom - box.bottom));
        return at(box.left + dx, (box.top + box.bottom) / 2 + dy);
      };
      const box =
        candidates.find(clear) ??
        candidates.map(clamp).find((b) => !placed.some((l) => overlaps(l.box, b))) ??
        clamp(right);
      placed.push({ text: p.text, x: p.x, y: p.y, box });
    }
    return placed.map((l) => ({
      text: l.text,
      x: l.box.left,
      y: (l.box.top + l.box.bottom) / 2,
      box: l.box,
    }));
  }

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
      ctx.textAlign = "left";
      const points = [];
      chart.data.datasets.forEach((dataset, i) => {
        const meta = chart.getDatasetMeta(i);
        if (meta.hidden) return;
        meta.data.forEach((element, j) => {
          const point = dataset.data[j];
          if (point && typeof point.label === "string") {
            points.push({ x: element.x, y: element.y, text: point.label });
          }
        });
      });
      const measure = (text) => ctx.measureText(text).width;
      for (const label of placeLabels(points, chart.chartArea, measure, 13)) {
        ctx.fillText(label.text, label.x, label.y);
      }
      ctx.restore();
    },
  };

  const plugins = { background, pointLabels, placeLabels };
  if (typeof module === "object" && module.exports) module.exports = plugins;
  else root.qbenchChartPlugins = plugins;
})(typeof globalThis === "object" ? globalThis : this);
