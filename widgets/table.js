// flowpoint checkpoint table (anywidget ES module, no build step, no imports).
//
// Python (flowpoint.notebook.explorer.table_view.TableView) queries the store and sends one
// page of rows; this module draws them, and writes back what the user asks for:
//   columns   [{key, label, numeric}]          static
//   rows      [{id, run_id, cells: {key: text}, status, title: {key: text}}]
//   options   {status|step|input_type|output_type: [[label, value], ...]}
//   filters   {status, step, input_type, output_type}    set by the dropdowns
//   text      search text, written debounce_ms after the last key press
//   debounce_ms  how long typing must pause before a search: Python sets it from what the
//             last search cost (a fast store searches almost as you type, a slow one waits)
//   sort, descending, page, page_size, total, total_all, selected, busy
//
// Every string from data is written with textContent / setAttribute, never as markup.

const DEBOUNCE_MS = 250; // until Python says what a search costs
const FILTERS = [
  ["status", "Run status"],
  ["step", "Step"],
  ["input_type", "Input type"],
  ["output_type", "Output type"],
];

function el(tag, className, parent) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (parent) parent.appendChild(node);
  return node;
}

function str(v) {
  return v === null || v === undefined ? "" : String(v);
}

function fmt(n) {
  return Number(n || 0).toLocaleString("en-US");
}

function render({ model, el: host }) {
  const root = el("div", "fp-table", host);
  root.setAttribute("data-lm-suppress-shortcuts", "true");
  root.setAttribute("role", "region");
  root.setAttribute("aria-label", "Checkpoints");

  const bar = el("div", "fp-table-bar", root);
  const search = el("input", "fp-search", bar);
  search.type = "search";
  search.placeholder = "Search events, state, errors, ids…";
  search.setAttribute("aria-label", "Search checkpoints");
  search.value = str(model.get("text"));
  const selects = {};
  for (const [key, label] of FILTERS) {
    const sel = el("select", "fp-filter", bar);
    sel.setAttribute("aria-label", label);
    sel.dataset.filter = key;
    selects[key] = sel;
  }
  const count = el("span", "fp-count", bar);
  count.setAttribute("aria-live", "polite");

  const scroll = el("div", "fp-table-scroll", root);
  const table = el("table", "fp-grid", scroll);
  const thead = el("thead", "", table);
  const headRow = el("tr", "", thead);
  const tbody = el("tbody", "", table);

  const pager = el("div", "fp-pager", root);
  const prev = el("button", "fp-btn fp-prev", pager);
  prev.type = "button";
  prev.textContent = "\u25c0 Previous";
  const pageInfo = el("span", "fp-page-info", pager);
  const next = el("button", "fp-btn fp-next", pager);
  next.type = "button";
  next.textContent = "Next \u25b6";

  let timer = null;
  const commitText = () => {
    timer = null;
    if (search.value !== str(model.get("text"))) {
      model.set("text", search.value);
      model.save_changes();
    }
  };
  search.addEventListener("input", () => {
    if (timer) clearTimeout(timer);
    const wait = Number(model.get("debounce_ms")) || DEBOUNCE_MS;
    timer = setTimeout(commitText, Math.max(50, Math.min(2000, wait)));
  });
  search.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter") {
      if (timer) clearTimeout(timer);
      commitText();
    }
  });
  for (const sel of Object.values(selects)) {
    sel.addEventListener("change", () => {
      model.set("filters", { ...(model.get("filters") || {}), [sel.dataset.filter]: sel.value });
      model.save_changes();
    });
  }

  function drawHead() {
    headRow.replaceChildren();
    const sort = str(model.get("sort"));
    const desc = !!model.get("descending");
    for (const col of model.get("columns") || []) {
      const th = el("th", col.numeric ? "fp-num" : "", headRow);
      th.scope = "col";
      const b = el("button", "fp-sort", th);
      b.type = "button";
      b.dataset.key = col.key;
      const active = sort === col.key;
      b.textContent = str(col.label) + (active ? (desc ? " \u25bc" : " \u25b2") : "");
      th.setAttribute("aria-sort", active ? (desc ? "descending" : "ascending") : "none");
      b.title = `Sort by ${str(col.label)}`;
      b.addEventListener("click", () => {
        if (sort === col.key) {
          model.set("descending", !desc);
        } else {
          model.set("sort", col.key);
          model.set("descending", col.key === "created" || col.key === "duration");
        }
        model.set("page", 0);
        model.save_changes();
      });
    }
  }

  function drawOptions() {
    const options = model.get("options") || {};
    const filters = model.get("filters") || {};
    for (const [key, sel] of Object.entries(selects)) {
      sel.replaceChildren();
      for (const [label, value] of options[key] || []) {
        const o = el("option", "", sel);
        o.value = str(value);
        o.textContent = str(label);
      }
      sel.value = str(filters[key]);
    }
  }

  function drawRows() {
    const cols = model.get("columns") || [];
    const selected = str(model.get("selected"));
    const frag = document.createDocumentFragment();
    for (const row of model.get("rows") || []) {
      const tr = el("tr", "fp-row", frag);
      tr.dataset.id = str(row.id);
      tr.dataset.runId = str(row.run_id);
      tr.tabIndex = 0;
      const isSel = tr.dataset.id === selected;
      tr.classList.toggle("fp-row--selected", isSel);
      tr.setAttribute("aria-selected", isSel ? "true" : "false");
      const cells = row.cells || {};
      const titles = row.title || {};
      for (const col of cols) {
        const td = el("td", col.numeric ? "fp-num" : "", tr);
        td.dataset.col = col.key;
        td.textContent = str(cells[col.key]);
        if (titles[col.key]) td.title = str(titles[col.key]);
        if (col.key === "status") td.classList.add(`fp-st`, `fp-st--${str(row.status)}`);
        if (col.key === "error" && cells.error) td.classList.add("fp-error-cell");
      }
    }
    tbody.replaceChildren(frag);
    if (!(model.get("rows") || []).length) {
      const tr = el("tr", "fp-empty", tbody);
      const td = el("td", "", tr);
      td.colSpan = cols.length || 1;
      td.textContent = model.get("total_all") ? "No checkpoint matches." : "No checkpoints yet.";
    }
    drawCounts();
  }

  function drawCounts() {
    const total = model.get("total") || 0;
    const all = model.get("total_all") || 0;
    const page = model.get("page") || 0;
    const size = model.get("page_size") || 100;
    const n = (model.get("rows") || []).length;
    const first = total ? page * size + 1 : 0;
    const filtered = total !== all;
    count.textContent = model.get("busy")
      ? "searching\u2026"
      : `${fmt(first)}\u2013${fmt(page * size + n)} of ${fmt(total)}${filtered ? ` matching (${fmt(all)} in all)` : " checkpoints"}`;
    const pages = Math.max(1, Math.ceil(total / size));
    pageInfo.textContent = `page ${fmt(page + 1)} of ${fmt(pages)}`;
    prev.disabled = page <= 0;
    next.disabled = page + 1 >= pages;
  }

  function select(id) {
    if (!id) return;
    model.set("selected", id);
    model.save_changes();
  }

  function markSelected() {
    const selected = str(model.get("selected"));
    for (const tr of tbody.querySelectorAll("tr.fp-row")) {
      const on = tr.dataset.id === selected;
      tr.classList.toggle("fp-row--selected", on);
      tr.setAttribute("aria-selected", on ? "true" : "false");
    }
  }

  tbody.addEventListener("click", (ev) => {
    const tr = ev.target.closest ? ev.target.closest("tr.fp-row") : null;
    if (tr) select(tr.dataset.id);
  });
  tbody.addEventListener("keydown", (ev) => {
    const tr = ev.target.closest ? ev.target.closest("tr.fp-row") : null;
    if (!tr) return;
    let to = null;
    if (ev.key === "ArrowDown") to = tr.nextElementSibling;
    else if (ev.key === "ArrowUp") to = tr.previousElementSibling;
    else if (ev.key === "Enter" || ev.key === " ") {
      ev.preventDefault();
      select(tr.dataset.id);
      return;
    }
    if (to && to.classList.contains("fp-row")) {
      ev.preventDefault();
      to.focus();
      select(to.dataset.id);
    }
  });
  const turn = (d) => {
    model.set("page", Math.max(0, (model.get("page") || 0) + d));
    model.save_changes();
  };
  prev.addEventListener("click", () => turn(-1));
  next.addEventListener("click", () => turn(1));

  const onText = () => {
    if (document.activeElement !== search) search.value = str(model.get("text"));
  };
  const handlers = [
    ["change:columns", drawHead],
    ["change:sort", drawHead],
    ["change:descending", drawHead],
    ["change:rows", drawRows],
    ["change:options", drawOptions],
    ["change:filters", drawOptions],
    ["change:selected", markSelected],
    ["change:total", drawCounts],
    ["change:total_all", drawCounts],
    ["change:page", drawCounts],
    ["change:busy", drawCounts],
    ["change:text", onText],
  ];
  for (const [name, cb] of handlers) model.on(name, cb);
  drawHead();
  drawOptions();
  drawRows();
  return () => {
    if (timer) clearTimeout(timer);
    for (const [name, cb] of handlers) model.off(name, cb);
    root.remove();
  };
}

export default { render };
