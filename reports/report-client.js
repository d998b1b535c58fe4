// The report's only script (inlined after chart.js and chart-plugins.cjs, allowed by its hash in
// the page's CSP): draws the charts and makes the disagreement list searchable. Model text only
// ever reaches the page through textContent, never as HTML.
(() => {
  const PAGE_SIZE = 20;
  const data = JSON.parse(document.getElementById("qbench-data").textContent);

  function drawCharts() {
    const Chart = globalThis.Chart;
    const plugins = globalThis.qbenchChartPlugins;
    Chart.register(plugins.background, plugins.pointLabels);
    for (const chart of data.charts) {
      const canvas = document.getElementById(`chart-${chart.id}`);
      if (!canvas) continue;
      const config = chart.config;
      if (config.type === "scatter") {
        config.options.plugins.tooltip = {
          callbacks: {
            label: (c) => `${c.raw.label}: ${c.parsed.y.toFixed(1)} % at ${c.parsed.x.toFixed(2)}`,
          },
        };
      }
      new Chart(canvas, config);
    }
  }

  function element(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function textBlock(title, text) {
    const box = element("div", "text-block");
    box.append(element("h4", "", title));
    const pre = element("pre", "model-text", text);
    pre.dir = "auto";
    box.append(pre);
    return box;
  }

  function renderItem(item, variant) {
    const card = element("article", `item kind-${item.kind}`);
    const head = element("header", "item-head");
    head.append(element("span", `badge badge-${item.kind}`, item.kind));
    head.append(element("code", "item-id", `${item.suite} · ${item.item}`));
    head.append(element("span", "item-metric", `compared on ${item.metric}`));
    card.append(head);
    const texts = element("div", "item-texts");
    texts.append(textBlock("Prompt", item.prompt), textBlock("Reference", item.reference));
    card.append(texts);
    const outputs = element("div", "outputs");
    for (const output of item.outputs) {
      if (variant && output.change !== "baseline" && output.variant !== variant) continue;
      const box = element("div", `output change-${output.change} status-${output.status}`);
      const top = element("div", "output-head");
      top.append(element("strong", "", output.variant));
      top.append(element("span", "output-score", output.score));
      box.append(top);
      const pre = element("pre", "model-text", output.text);
      pre.dir = "auto";
      box.append(pre);
      outputs.append(box);
    }
    card.append(outputs);
    return card;
  }

  function setupDisagreements() {
    const all = data.disagreements.items;
    const controls = document.getElementById("dis-controls");
    if (!controls || all.length === 0) return;
    controls.hidden = false;
    const search = document.getElementById("dis-search");
    const suite = document.getElementById("dis-suite");
    const variant = document.getElementById("dis-variant");
    const kind = document.getElementById("dis-kind");
    const list = document.getElementById("dis-list");
    const status = document.getElementById("dis-status");
    const prev = document.getElementById("dis-prev");
    const next = document.getElementById("dis-next");
    const haystacks = all.map((item) =>
      [item.suite, item.item, item.prompt, item.reference, ...item.outputs.map((o) => o.text)]
        .join("\n")
        .toLowerCase(),
    );
    let page = 0;
    let matching = [];

    function filter() {
      const needle = search.value.trim().toLowerCase();
      matching = all.filter(
        (item, i) =>
          (!needle || haystacks[i].includes(needle)) &&
          (!suite.value || item.suite === suite.value) &&
          (!kind.value || item.kind === kind.value) &&
          (!variant.value ||
            item.outputs.some((o) => o.variant === variant.value && o.change !== "same")),
      );
      page = 0;
      render();
    }

    function render() {
      const pages = Math.max(1, Math.ceil(matching.length / PAGE_SIZE));
      page = Math.min(page, pages - 1);
      const start = page * PAGE_SIZE;
      const shown = matching.slice(start, start + PAGE_SIZE);
      list.replaceChildren(...shown.map((item) => renderItem(item, variant.value)));
      status.textContent =
        matching.length === 0
          ? "No item matches."
          : `Items ${start + 1}–${start + shown.length} of ${matching.length} matching (page ${page + 1} of ${pages}).`;
      prev.disabled = page === 0;
      next.disabled = page >= pages - 1;
    }

    for (const input of [search, suite, variant, kind]) input.addEventListener("input", filter);
    prev.addEventListener("click", () => {
      page -= 1;
      render();
    });
    next.addEventListener("click", () => {
      page += 1;
      render();
    });
    filter();
  }

  drawCharts();
  setupDisagreements();
  document.documentElement.dataset.ready = "true";
})();
