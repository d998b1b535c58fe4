// qbench view's script, inlined after the report's (allowed by its hash in the page's CSP). On a
// run's page it adds the review queue: each output that disagrees with the baseline, regressions
// first, judged with the keyboard and sent by POST with this session's CSRF token. Text from the
// database (outputs, prompts, notes, names) reaches the page through textContent only.
(() => {
  const data = JSON.parse(document.getElementById("qbench-data").textContent);
  const view = data.view ?? {};

  function element(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function setupComparePicker() {
    const picker = document.getElementById("compare-picker");
    if (!picker) return;
    const a = document.getElementById("compare-a");
    const b = document.getElementById("compare-b");
    if (a.options.length < 2) return;
    picker.hidden = false;
    a.selectedIndex = 1;
    document.getElementById("compare-go").addEventListener("click", () => {
      location.assign(`/compare/${encodeURIComponent(a.value)}/${encodeURIComponent(b.value)}`);
    });
  }

  const when = (iso) => iso.replace("T", " ").replace(/(\.\d+)?Z$/, " UTC");
  const LABEL = { acceptable: "acceptable", "not-acceptable": "not acceptable", unsure: "unsure" };
  const KEYS = { a: "acceptable", x: "not-acceptable", u: "unsure" };

  function setupReviews() {
    if (view.page !== "run") return;
    const anchor = document.getElementById("disagreements");
    if (!anchor) return;
    const key = (variant, suite, item) => `${variant}\u0000${suite}\u0000${item}`;
    const reviews = new Map(view.reviews.map((r) => [key(r.variant, r.suite, r.item), r]));
    // Regressions first (in the report's order: the largest drops first), then improvements.
    const queue = [];
    for (const change of ["worse", "better"]) {
      for (const item of data.disagreements.items) {
        for (const output of item.outputs) {
          if (output.change === change) queue.push({ item, output });
        }
      }
    }
    const section = element("section", "review-queue");
    section.id = "review";
    section.append(element("h2", "", "Review the disagreements"));
    const help = element(
      "p",
      "lead",
      "Keys: A acceptable · X not acceptable · U unsure (each saves, then moves to the next unreviewed) · J / K next / previous · N the note · Esc leaves the note.",
    );
    section.append(help);
    const progress = element("p", "review-progress");
    progress.id = "review-progress";
    progress.setAttribute("aria-live", "polite");
    section.append(progress);
    if (view.capped.length > 0) {
      const note = element(
        "p",
        "note",
        `This page holds ${view.capped.map((c) => `${c.shown} of the ${c.all} disagreeing items of ${c.suite}`).join(", ")} (the report's cap per suite). `,
      );
      const all = element("a", "", "Open the run with all of them");
      all.href = view.allHref;
      note.append(all);
      section.append(note);
    }
    anchor.before(section);
    const counts = document.querySelector("#review-counts h3");
    if (counts) counts.append(" (as the page was loaded: reload for the reviews made since)");
    if (queue.length === 0) {
      progress.textContent = "Nothing to review: no output differs from the baseline.";
      return;
    }

    const card = element("article", "review-card");
    card.id = "review-card";
    card.tabIndex = -1;
    const head = element("header", "item-head");
    const kind = element("span", "badge");
    const where = element("code", "item-id");
    const position = element("span", "item-metric");
    head.append(kind, where, position);
    const texts = element("div", "item-texts");
    const block = (title, id) => {
      const box = element("div", "text-block");
      box.append(element("h4", "", title));
      const pre = element("pre", "model-text");
      pre.id = id;
      pre.dir = "auto";
      box.append(pre);
      texts.append(box);
      return pre;
    };
    const prompt = block("Prompt", "review-prompt");
    const reference = block("Reference", "review-reference");
    const baseline = block("Baseline", "review-baseline");
    const output = block("This variant", "review-output");
    const state = element("p", "review-state");
    state.id = "review-state";
    const noteLabel = element("label", "review-note", "Note ");
    const note = element("textarea");
    note.id = "review-note";
    note.rows = 2;
    note.maxLength = 4000;
    noteLabel.append(note);
    const buttons = element("div", "review-buttons");
    const button = (verdict, text) => {
      const b = element("button", `verdict-${verdict}`, text);
      b.type = "button";
      b.addEventListener("click", () => save(verdict));
      buttons.append(b);
    };
    button("acceptable", "Acceptable (A)");
    button("not-acceptable", "Not acceptable (X)");
    button("unsure", "Unsure (U)");
    const prev = element("button", "", "← previous (K)");
    prev.type = "button";
    const next = element("button", "", "next (J) →");
    next.type = "button";
    buttons.append(prev, next);
    const error = element("p", "review-error");
    error.id = "review-error";
    error.setAttribute("role", "alert");
    card.append(head, texts, state, noteLabel, buttons, error);
    section.append(card);

    let at = 0;
    const current = () => queue[at];
    const reviewOf = (entry) =>
      reviews.get(key(entry.output.variant, entry.item.suite, entry.item.item));

    function show() {
      const entry = current();
      const { item, output: out } = entry;
      const regression = out.change === "worse";
      kind.className = `badge badge-${regression ? "regression" : "improvement"}`;
      kind.textContent = regression ? "regression" : "improvement";
      where.textContent = `${out.variant} · ${item.suite} · ${item.item}`;
      position.textContent = `${at + 1} of ${queue.length} · compared on ${item.metric}: ${out.score}`;
      prompt.textContent = item.prompt;
      reference.textContent = item.reference;
      const base = item.outputs.find((o) => o.change === "baseline");
      baseline.textContent = base ? base.text : "";
      output.textContent = out.text;
      const review = reviewOf(entry);
      card.dataset.verdict = review ? review.verdict : "";
      state.textContent = review
        ? `Reviewed: ${LABEL[review.verdict]} by ${review.reviewer}, ${when(review.createdAt)}${review.carried ? ` (carried over from run ${review.madeOnRun}: the same output text)` : ""}${review.note ? ` — “${review.note}”` : ""}`
        : "Not reviewed yet.";
      note.value = review ? review.note : "";
      prev.disabled = at === 0;
      next.disabled = at === queue.length - 1;
      const done = queue.filter((e) => reviewOf(e)).length;
      const open = queue.filter((e) => e.output.change === "worse" && !reviewOf(e)).length;
      progress.textContent = `${done} of ${queue.length} outputs reviewed · ${open} regression${open === 1 ? "" : "s"} not reviewed${view.reviewer ? ` · reviewing as ${view.reviewer}` : " · no reviewer name: start qbench view with --reviewer NAME"}`;
    }

    function move(step) {
      at = Math.min(queue.length - 1, Math.max(0, at + step));
      error.textContent = "";
      show();
    }

    function nextUnreviewed() {
      for (let i = 1; i <= queue.length; i++) {
        const j = (at + i) % queue.length;
        if (!reviewOf(queue[j])) {
          at = j;
          return;
        }
      }
      at = Math.min(at + 1, queue.length - 1);
    }

    let saving = false;
    async function save(verdict) {
      if (saving) return;
      saving = true;
      const entry = current();
      error.textContent = "";
      try {
        const response = await fetch(view.endpoint, {
          method: "POST",
          headers: { "content-type": "application/json", "x-qbench-csrf": view.csrf },
          body: JSON.stringify({
            variant: entry.output.variant,
            suite: entry.item.suite,
            item: entry.item.item,
            verdict,
            note: note.value,
          }),
        });
        const body = await response.json();
        if (!response.ok) throw new Error(body.error ?? `HTTP ${response.status}`);
        reviews.set(key(body.review.variant, body.review.suite, body.review.item), body.review);
        nextUnreviewed();
        show();
        card.focus();
      } catch (e) {
        error.textContent = `Not saved: ${e.message}`;
      } finally {
        saving = false;
      }
    }

    prev.addEventListener("click", () => move(-1));
    next.addEventListener("click", () => move(1));
    document.addEventListener("keydown", (event) => {
      if (event.ctrlKey || event.metaKey || event.altKey) return;
      const typing = /^(INPUT|TEXTAREA|SELECT)$/.test(event.target.tagName);
      if (typing) {
        if (event.key === "Escape") {
          event.target.blur();
          card.focus();
        }
        return;
      }
      const k = event.key.toLowerCase();
      if (KEYS[k]) save(KEYS[k]);
      else if (k === "j") move(1);
      else if (k === "k") move(-1);
      else if (k === "n") note.focus();
      else return;
      event.preventDefault();
    });
    // Start at the first regression nobody has reviewed yet.
    const first = queue.findIndex((e) => !reviewOf(e));
    at = first === -1 ? 0 : first;
    show();
  }

  setupComparePicker();
  setupReviews();
  document.documentElement.dataset.viewReady = "true";
})();
