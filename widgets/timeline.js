// flowpoint timeline widget (anywidget ES module, no build step, no imports).
//
// Model traits (synced with flowpoint.notebook.timeline.Timeline):
//   runs         [{run_id, label, status, workflow, origin_checkpoint_id, started_at}]
//   marks        [{id, run_id, seq, step, output_type, created_at, label}]
//   step_colors  {step name -> CSS colour}; the start checkpoint is "(start)"
//   selected     checkpoint id ("" = none); set on click
//   pinned       checkpoint id ("" = none); second highlight
//   zoom         horizontal scale (1.0 = default); the view fits the width when first drawn
//   x_axis       "seq" (checkpoint order) or "time" (wall clock of created_at)
//
// Every string that comes from data (run ids, step names, labels, types) is written with
// textContent or setAttribute only, never parsed as HTML markup.

const SVG_NS = "http://www.w3.org/2000/svg";

const LANE_H = 22;
const AXIS_H = 20;
const LABEL_W = 300;
const ID_X = 18; // x of the short run id in the label column
const BADGE_X = 80; // x of the edited / resumed badges
const TIME_COLS = 40; // virtual columns spanned by the wall-clock axis at zoom 1
const BASE_STEP_W = 26;
const PAD_X = 14;
const END_GAP = 16;
const MIN_ZOOM = 0.02;
const MAX_ZOOM = 12;
const START_STEP = "(start)";
const FALLBACK_COLOR = "#9e9e9e";
const STATUSES = ["running", "waiting", "completed", "failed", "cancelled", "interrupted", "paused"];
const STATUS_WORD = {
  running: "running",
  waiting: "waiting",
  failed: "failed",
  cancelled: "cancelled",
  interrupted: "interrupted",
  paused: "paused",
  unknown: "?",
};
const STATUS_SHORT = {
  running: "run",
  waiting: "wait",
  completed: "done",
  failed: "fail",
  cancelled: "cxl",
  interrupted: "int",
  unknown: "?",
};

function svg(tag, attrs, parent) {
  const node = document.createElementNS(SVG_NS, tag);
  if (attrs) {
    for (const key in attrs) node.setAttribute(key, String(attrs[key]));
  }
  if (parent) parent.appendChild(node);
  return node;
}

function html(tag, className, parent) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (parent) parent.appendChild(node);
  return node;
}

function addTitle(node, text) {
  const title = document.createElementNS(SVG_NS, "title");
  title.textContent = text;
  node.appendChild(title);
  return title;
}

function str(value, fallback = "") {
  return value === null || value === undefined ? fallback : String(value);
}

function statusOf(run) {
  const s = str(run && run.status).toLowerCase();
  return STATUSES.includes(s) ? s : "unknown";
}

function shortId(id) {
  const s = str(id);
  return s.length > 10 ? s.slice(0, 8) + "\u2026" : s;
}

function truncate(text, maxChars) {
  if (maxChars <= 0) return "";
  return text.length > maxChars ? text.slice(0, Math.max(0, maxChars - 1)) + "\u2026" : text;
}

function formatTime(epoch) {
  const n = Number(epoch);
  if (!Number.isFinite(n) || n <= 0) return "";
  try {
    return new Date(n * 1000).toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z");
  } catch (_err) {
    return "";
  }
}

function clampZoom(z) {
  const n = Number(z);
  if (!Number.isFinite(n) || n <= 0) return 1;
  return Math.min(MAX_ZOOM, Math.max(MIN_ZOOM, n));
}

// Turn the model's runs/marks into lanes with absolute columns. Linear apart from the
// per-run sort by seq.
function layout(runsIn, marksIn) {
  const runs = Array.isArray(runsIn) ? runsIn.filter((r) => r && typeof r === "object") : [];
  const marks = Array.isArray(marksIn) ? marksIn : [];
  const laneOf = new Map(); // run_id -> lane
  const lanes = [];
  for (const run of runs) {
    const runId = str(run.run_id);
    if (laneOf.has(runId)) continue; // duplicate run ids: first wins
    const lane = {
      index: lanes.length,
      run,
      runId,
      status: statusOf(run),
      origin: run.origin_checkpoint_id ? str(run.origin_checkpoint_id) : "",
      marks: [],
      offset: 0,
      resolved: false,
      branched: false,
    };
    laneOf.set(runId, lane);
    lanes.push(lane);
  }

  const markInfo = new Map(); // checkpoint id -> {mark, lane, seq, col, x, y}
  for (const mark of marks) {
    if (!mark || typeof mark !== "object") continue;
    const lane = laneOf.get(str(mark.run_id));
    if (!lane) continue;
    const id = str(mark.id);
    if (markInfo.has(id)) continue;
    const seqNum = Number(mark.seq);
    const info = { id, mark, lane, seq: Number.isFinite(seqNum) ? seqNum : lane.marks.length, col: 0, x: 0, y: 0 };
    lane.marks.push(info);
    markInfo.set(id, info);
  }
  for (const lane of lanes) {
    if (lane.marks.length > 1) lane.marks.sort((a, b) => a.seq - b.seq);
  }

  // Column offset per lane: a resumed run starts one column after its origin checkpoint.
  const resolve = (lane, depth) => {
    if (lane.resolved) return;
    lane.resolved = true; // set first: breaks origin cycles
    const origin = lane.origin ? markInfo.get(lane.origin) : undefined;
    if (!origin || origin.lane === lane || depth > lanes.length) {
      lane.offset = 0;
      return;
    }
    resolve(origin.lane, depth + 1);
    const originCol = origin.lane.offset + origin.seq;
    const firstSeq = lane.marks.length ? lane.marks[0].seq : 0;
    lane.offset = originCol + 1 - firstSeq;
    lane.branched = true;
    lane.originInfo = origin;
  };
  // Iterative outer loop; recursion depth is bounded by the length of a resume chain.
  for (const lane of lanes) resolve(lane, 0);

  let minCol = 0;
  let maxCol = 0;
  for (const lane of lanes) {
    lane.startCol = lane.branched ? lane.originInfo.lane.offset + lane.originInfo.seq + 1 : 0;
    if (lane.startCol > maxCol) maxCol = lane.startCol;
    for (const info of lane.marks) {
      info.col = lane.offset + info.seq;
      if (info.col < minCol) minCol = info.col;
      if (info.col > maxCol) maxCol = info.col;
    }
  }
  if (minCol < 0) {
    for (const lane of lanes) {
      lane.startCol -= minCol;
      for (const info of lane.marks) info.col -= minCol;
    }
    maxCol -= minCol;
  }
  return { lanes, markInfo, maxCol, markCount: markInfo.size };
}

// Wall-clock mode: every mark's column is its created_at, scaled to TIME_COLS columns.
function timeLayout(state) {
  let t0 = Infinity;
  let t1 = -Infinity;
  for (const info of state.markInfo.values()) {
    const t = Number(info.mark.created_at);
    if (!Number.isFinite(t)) continue;
    t0 = Math.min(t0, t);
    t1 = Math.max(t1, t);
  }
  if (!Number.isFinite(t0)) return state;
  const span = Math.max(t1 - t0, 1e-3);
  for (const info of state.markInfo.values()) {
    const t = Number(info.mark.created_at);
    info.col = Number.isFinite(t) ? ((t - t0) / span) * TIME_COLS : 0;
  }
  for (const lane of state.lanes) {
    lane.startCol = lane.marks.length ? lane.marks[0].col : 0;
  }
  state.maxCol = TIME_COLS;
  state.t0 = t0;
  state.span = span;
  return state;
}

function clockLabel(epoch, span) {
  const d = new Date(epoch * 1000);
  const pad = (n, k = 2) => String(n).padStart(k, "0");
  const hms = `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
  return span < 10 ? `${hms}.${pad(d.getUTCMilliseconds(), 3)}` : hms;
}

function tickEvery(stepW) {
  const need = 34 / Math.max(stepW, 0.001);
  for (const k of [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000]) {
    if (k >= need) return k;
  }
  return Math.ceil(need);
}

function markTooltip(info) {
  const m = info.mark;
  const step = m.step === null || m.step === undefined ? START_STEP : str(m.step);
  const lines = [`${step} \u00b7 seq ${str(m.seq, "?")}`];
  if (m.output_type) lines.push(`output: ${str(m.output_type)}`);
  if (m.label) lines.push(str(m.label));
  const when = formatTime(m.created_at);
  if (when) lines.push(when);
  lines.push(`id: ${info.id}`);
  return lines.join("\n");
}

function runTooltip(lane) {
  const r = lane.run;
  const lines = [`run ${lane.runId}`, `status: ${str(r.status, "?")}`];
  if (r.workflow) lines.push(`workflow: ${str(r.workflow)}`);
  if (r.label) lines.push(`label: ${str(r.label)}`);
  if (lane.origin) lines.push(`resumed from: ${lane.origin}`);
  const when = formatTime(r.started_at);
  if (when) lines.push(`started: ${when}`);
  if (r.failed_step) lines.push(`failed in step: ${str(r.failed_step)}`);
  if (r.edited) lines.push("edited before resuming");
  lines.push(`${lane.marks.length} checkpoint${lane.marks.length === 1 ? "" : "s"}`);
  lines.push("click to select the run");
  return lines.join("\n");
}

function drawEndMarker(parent, status, x, y) {
  const g = svg("g", { class: `fp-end fp-end--${status}`, transform: `translate(${x},${y})` }, parent);
  addTitle(g, status);
  if (status === "failed") {
    svg("path", { d: "M-4,-4L4,4M4,-4L-4,4", class: "fp-end-glyph" }, g);
  } else if (status === "waiting") {
    svg("rect", { x: -4.5, y: -5, width: 3, height: 10, rx: 0.8, class: "fp-end-fill" }, g);
    svg("rect", { x: 1.5, y: -5, width: 3, height: 10, rx: 0.8, class: "fp-end-fill" }, g);
  } else if (status === "paused") {
    svg("rect", { x: -4.5, y: -5, width: 3, height: 10, rx: 0.8, class: "fp-end-fill" }, g);
    svg("rect", { x: 1.5, y: -5, width: 3, height: 10, rx: 0.8, class: "fp-end-fill" }, g);
  } else if (status === "running") {
    svg("circle", { r: 7, class: "fp-end-pulse" }, g);
    svg("circle", { r: 4, class: "fp-end-fill" }, g);
  } else if (status === "interrupted") {
    svg("circle", { r: 6, class: "fp-end-ring" }, g);
    svg("path", { d: "M0,-3.5L0,1", class: "fp-end-glyph" }, g);
    svg("circle", { cx: 0, cy: 3.2, r: 0.9, class: "fp-end-fill" }, g);
  } else if (status === "cancelled") {
    svg("circle", { r: 5, class: "fp-end-ring" }, g);
    svg("path", { d: "M-3.5,3.5L3.5,-3.5", class: "fp-end-glyph" }, g);
  } else {
    return null;
  }
  return g;
}

function render({ model, el }) {
  const root = html("div", "fp-timeline");
  root.setAttribute("data-lm-suppress-shortcuts", "true");

  // Toolbar: zoom controls and a summary.
  const toolbar = html("div", "fp-tl-toolbar", root);
  const btnOut = html("button", "fp-tl-btn fp-tl-zoom-out", toolbar);
  btnOut.type = "button";
  btnOut.textContent = "\u2212";
  btnOut.title = "Zoom out";
  const btnIn = html("button", "fp-tl-btn fp-tl-zoom-in", toolbar);
  btnIn.type = "button";
  btnIn.textContent = "+";
  btnIn.title = "Zoom in";
  const btnFit = html("button", "fp-tl-btn fp-tl-zoom-fit", toolbar);
  btnFit.type = "button";
  btnFit.textContent = "fit";
  btnFit.title = "Fit all checkpoints in the width";
  const btnAxis = html("button", "fp-tl-btn fp-tl-axis-toggle", toolbar);
  btnAxis.type = "button";
  btnAxis.title = "Place checkpoints by seq or by wall-clock time";
  const zoomLabel = html("span", "fp-tl-zoom-label", toolbar);
  const summary = html("span", "fp-tl-summary", toolbar);

  // Scroll container with a sticky axis (top) and sticky lane labels (left).
  const overview = html("div", "fp-tl-overview", root);
  overview.hidden = true;
  overview.setAttribute("role", "presentation");
  const scroller = html("div", "fp-tl-scroll", root);
  scroller.tabIndex = 0;
  const legend = html("div", "fp-tl-legend", root);
  el.appendChild(root);

  let state = null; // result of layout() plus the geometry of the last render
  let nodeById = new Map(); // checkpoint id -> circle
  let laneNodes = []; // lane index -> {plot: g, label: g}
  let selRing = null;
  let pinRing = null;
  let pendingAnchor = null; // keeps a column under the cursor / centre while zooming
  let lastZoom = clampZoom(model.get("zoom"));

  const stepWidth = () => BASE_STEP_W * clampZoom(model.get("zoom"));
  const colX = (col, stepW) => PAD_X + col * stepW;

  function colorFor(step) {
    const colors = model.get("step_colors") || {};
    const key = step === null || step === undefined ? START_STEP : str(step);
    const c = Object.prototype.hasOwnProperty.call(colors, key) ? colors[key] : null;
    return typeof c === "string" && c ? c : FALLBACK_COLOR;
  }

  function setZoom(z, anchor) {
    const next = clampZoom(z);
    if (Math.abs(next - clampZoom(model.get("zoom"))) < 1e-9) return;
    pendingAnchor = anchor || null;
    model.set("zoom", next);
    model.save_changes();
  }

  function viewportAnchor(clientX) {
    // Which column sits at clientX (or the centre of the plot viewport)?
    const rect = scroller.getBoundingClientRect();
    const plotViewW = Math.max(1, scroller.clientWidth - LABEL_W);
    const offsetInView =
      clientX === undefined ? plotViewW / 2 : Math.min(plotViewW, Math.max(0, clientX - rect.left - LABEL_W));
    const col = (scroller.scrollLeft + offsetInView - PAD_X) / stepWidth();
    return { col, offsetInView };
  }

  function fitZoom() {
    if (!state) return;
    const avail = Math.max(60, scroller.clientWidth - LABEL_W - PAD_X * 2 - END_GAP * 2);
    const cols = Math.max(1, state.maxCol);
    setZoom(avail / (cols * BASE_STEP_W), { col: 0, offsetInView: PAD_X }); // from the left edge
    scroller.scrollLeft = 0;
  }

  function renderLegend() {
    legend.replaceChildren();
    const colors = model.get("step_colors") || {};
    const frag = document.createDocumentFragment();
    for (const key of Object.keys(colors)) {
      const item = html("span", "fp-tl-legend-item", frag);
      const sw = html("span", "fp-tl-swatch", item);
      const c = colors[key];
      sw.style.backgroundColor = typeof c === "string" ? c : FALLBACK_COLOR;
      const name = html("span", "fp-tl-legend-name", item);
      name.textContent = key;
      item.title = key;
    }
    legend.appendChild(frag);
    legend.hidden = Object.keys(colors).length === 0;
  }

  function renderAll() {
    const prevTop = scroller.scrollTop;
    const prevLeft = scroller.scrollLeft;
    const zoom = clampZoom(model.get("zoom"));
    const zoomChanged = Math.abs(zoom - lastZoom) > 1e-9;
    const anchor = zoomChanged ? pendingAnchor || viewportAnchorFor(lastZoom, prevLeft) : null;
    lastZoom = zoom;
    pendingAnchor = null;

    state = layout(model.get("runs"), model.get("marks"));
    const timeMode = model.get("x_axis") === "time";
    if (timeMode) timeLayout(state);
    btnAxis.textContent = timeMode ? "x: time" : "x: seq";
    const { lanes, markInfo, maxCol } = state;
    const stepW = BASE_STEP_W * zoom;
    const r = Math.max(2.5, Math.min(6, stepW * 0.4));
    const plotW = Math.ceil(colX(maxCol, stepW) + END_GAP + 14 + PAD_X + 150);
    const plotH = Math.max(LANE_H, lanes.length * LANE_H);
    state.stepW = stepW;

    zoomLabel.textContent = `${Math.round(zoom * 100)}%`;
    const nRuns = lanes.length;
    summary.textContent = `${nRuns} run${nRuns === 1 ? "" : "s"} \u00b7 ${state.markCount} checkpoint${
      state.markCount === 1 ? "" : "s"
    }`;

    nodeById = new Map();
    laneNodes = new Array(lanes.length);

    const grid = html("div", "fp-tl-grid");
    // The plot column grows to the visible width (CSS), so lane stripes reach the edge.
    grid.style.gridTemplateColumns = `${LABEL_W}px minmax(${plotW}px, 1fr)`;

    const corner = html("div", "fp-tl-corner", grid);
    corner.textContent = "run (newest first)";
    corner.style.height = `${AXIS_H}px`;

    // Axis.
    const axis = svg("svg", { class: "fp-tl-axis", width: plotW, height: AXIS_H }, grid);
    if (timeMode && state.span !== undefined) {
      const every = Math.max(1, Math.ceil(90 / Math.max(stepW, 0.001)));
      for (let c = 0; c <= maxCol; c += every) {
        const t = svg("text", { x: colX(c, stepW), y: AXIS_H - 6, class: "fp-tl-tick" }, axis);
        t.textContent = clockLabel(state.t0 + (c / TIME_COLS) * state.span, state.span);
      }
    } else {
      const every = tickEvery(stepW);
      for (let c = 0; c <= maxCol; c += every) {
        const t = svg("text", { x: colX(c, stepW), y: AXIS_H - 6, class: "fp-tl-tick" }, axis);
        t.textContent = String(c);
      }
    }

    // Lane labels.
    const labels = svg("svg", { class: "fp-tl-labels", width: LABEL_W, height: plotH }, grid);
    // Plot.
    const plot = svg("svg", { class: "fp-tl-plot", width: plotW, height: plotH }, grid);
    const bgLayer = svg("g", { class: "fp-tl-bg" }, plot);
    const linkLayer = svg("g", { class: "fp-tl-links" }, plot);
    const laneLayer = svg("g", { class: "fp-tl-lanes" }, plot);
    const ringLayer = svg("g", { class: "fp-tl-rings" }, plot);


    for (const lane of lanes) {
      const y = lane.index * LANE_H + LANE_H / 2;
      const laneClass = `fp-lane fp-lane--${lane.status}${lane.branched ? " fp-lane--resumed" : ""}`;

      svg(
        "rect",
        {
          x: 0,
          y: lane.index * LANE_H,
          width: "100%",
          height: LANE_H,
          class: `fp-lane-bg${lane.index % 2 ? " fp-lane-bg--odd" : ""}`,
          "data-run-id": lane.runId,
        },
        bgLayer,
      );

      // Label column.
      const lg = svg("g", { class: `fp-lane-label ${laneClass}`, transform: `translate(0,${y})` }, labels);
      lg.setAttribute("data-run-id", lane.runId);
      addTitle(lg, runTooltip(lane));
      svg("rect", { x: 0, y: -LANE_H / 2, width: LABEL_W, height: LANE_H, class: "fp-lane-hit" }, lg);
      svg("circle", { cx: 9, cy: 0, r: 4.5, class: "fp-badge" }, lg);
      const idText = svg("text", { x: ID_X, y: 4, class: "fp-lane-id" }, lg);
      idText.textContent = shortId(lane.runId);
      let tx = BADGE_X;
      const badges = [];
      if (lane.run.edited) badges.push("edited");
      else if (lane.run.resumed || lane.branched) badges.push("resumed");
      if (lane.status !== "completed") badges.push(STATUS_WORD[lane.status] || lane.status);
      for (const word of badges) {
        const w = word.length * 6 + 8;
        svg("rect", { x: tx, y: -7, width: w, height: 14, rx: 3, class: `fp-chip fp-chip--${word}` }, lg);
        const t = svg("text", { x: tx + w / 2, y: 3.5, class: "fp-chip-text" }, lg);
        t.textContent = word;
        tx += w + 4;
      }
      const runLabel = str(lane.run.label);
      const labelChars = Math.floor((LABEL_W - tx - 4) / 6.2);
      if (runLabel && labelChars > 0) {
        const lt = svg("text", { x: tx, y: 4, class: "fp-lane-text" }, lg);
        lt.textContent = truncate(runLabel, labelChars);
      }

      // Plot lane.
      const g = svg("g", { class: laneClass }, laneLayer);
      g.setAttribute("data-run-id", lane.runId);
      laneNodes[lane.index] = { plot: g, label: lg };
      const startX = colX(lane.startCol, stepW);
      let lastX = startX;
      if (lane.marks.length) {
        const firstX = colX(lane.marks[0].col, stepW);
        lastX = colX(lane.marks[lane.marks.length - 1].col, stepW);
        if (lastX > firstX) svg("line", { x1: firstX, y1: y, x2: lastX, y2: y, class: "fp-lane-line" }, g);
      }
      for (const info of lane.marks) {
        info.x = colX(info.col, stepW);
        info.y = y;
        const m = info.mark;
        const isStart = m.step === null || m.step === undefined;
        const c = svg(
          "circle",
          { cx: info.x, cy: y, r: isStart ? r * 0.8 : r, class: isStart ? "fp-mark fp-mark--start" : "fp-mark" },
          g,
        );
        c.setAttribute("data-id", info.id);
        c.setAttribute("fill", colorFor(m.step));
        addTitle(c, markTooltip(info));
        nodeById.set(info.id, c);
      }
      const endX = lane.marks.length ? lastX + END_GAP : startX;
      const end = drawEndMarker(g, lane.status, endX, y);
      if (end && lane.status === "failed" && lane.run.failed_step) {
        const ft = svg("text", { x: endX + 9, y: y + 4, class: "fp-fail-label" }, g);
        ft.textContent = `failed in ${truncate(str(lane.run.failed_step), 28)}`;
      }
    }

    // One link per resumed run, from its origin checkpoint to its first checkpoint; runs
    // resumed from the same checkpoint leave it at distinct offsets, so each link is its own.
    const fromCount = new Map();
    for (const lane of lanes) {
      if (!lane.branched) continue;
      const o = lane.originInfo;
      const k = fromCount.get(o.id) || 0;
      fromCount.set(o.id, k + 1);
      const x0 = o.x;
      const y0 = o.y;
      const target = lane.marks.length ? lane.marks[0] : null;
      const x1 = target ? target.x : colX(lane.startCol, stepW);
      const y1 = lane.index * LANE_H + LANE_H / 2;
      const xm = Math.min(x1 - 4, x0 + 5 + 3 * k);
      const p = svg(
        "path",
        { d: `M${x0},${y0} L${xm},${y0} L${xm},${y1} L${x1},${y1}`, class: `fp-link fp-link--${k % 4}` },
        linkLayer,
      );
      p.setAttribute("data-from", o.id);
      p.setAttribute("data-run-id", lane.runId);
      if (target) p.setAttribute("data-to", target.id);
    }

    pinRing = svg("circle", { r: r + 4, class: "fp-ring fp-ring--pinned", visibility: "hidden" }, ringLayer);
    selRing = svg("circle", { r: r + 3.5, class: "fp-ring fp-ring--selected", visibility: "hidden" }, ringLayer);

    if (!lanes.length) {
      const empty = html("div", "fp-tl-empty", grid);
      empty.textContent = "No runs to show.";
    }

    scroller.replaceChildren(grid);
    drawOverview();

    // Restore the scroll position (or keep the zoom anchor in place).
    scroller.scrollTop = prevTop;
    if (anchor) {
      scroller.scrollLeft = Math.max(0, PAD_X + anchor.col * stepW - anchor.offsetInView);
    } else {
      scroller.scrollLeft = prevLeft;
    }
    updateHighlights(false);
  }

  function drawOverview() {
    const lanes = state ? state.lanes : [];
    const fit = Math.floor(Math.max(1, scroller.clientHeight - AXIS_H) / LANE_H);
    const need = lanes.length > Math.max(fit, 1) && scroller.clientHeight > 0;
    overview.hidden = !need;
    if (!need) return;
    overview.replaceChildren();
    for (const lane of lanes) {
      const cell = html("span", `fp-ov-cell fp-ov--${lane.status}`, overview);
      cell.dataset.lane = String(lane.index);
      cell.title = `${shortId(lane.runId)} ${str(lane.run.label)} (${lane.status})`;
    }
    const win = html("span", "fp-ov-window", overview);
    placeOverviewWindow(win);
  }

  function placeOverviewWindow(win) {
    const w = win || overview.querySelector(".fp-ov-window");
    if (!w || !state || !state.lanes.length) return;
    const n = state.lanes.length;
    const first = scroller.scrollTop / LANE_H;
    const shown = Math.max(1, (scroller.clientHeight - AXIS_H) / LANE_H);
    w.style.left = `${(100 * first) / n}%`;
    w.style.width = `${Math.min(100, (100 * shown) / n)}%`;
  }

  const onOverview = (event) => {
    if (!state || !state.lanes.length) return;
    const rect = overview.getBoundingClientRect();
    const lane = Math.floor(((event.clientX - rect.left) / Math.max(1, rect.width)) * state.lanes.length);
    scroller.scrollTop = Math.max(0, (lane - 2) * LANE_H);
    placeOverviewWindow();
  };
  const onScroll = () => placeOverviewWindow();

  function viewportAnchorFor(zoom, scrollLeft) {
    const plotViewW = Math.max(1, scroller.clientWidth - LABEL_W);
    const offsetInView = plotViewW / 2;
    return { col: (scrollLeft + offsetInView - PAD_X) / (BASE_STEP_W * zoom), offsetInView };
  }

  let selectedId = "";
  let pinnedId = "";

  function placeRing(ring, id) {
    const info = id && state ? state.markInfo.get(id) : undefined;
    if (!ring) return;
    if (info) {
      ring.setAttribute("cx", String(info.x));
      ring.setAttribute("cy", String(info.y));
      ring.setAttribute("visibility", "visible");
    } else {
      ring.setAttribute("visibility", "hidden");
    }
  }

  function toggleMark(id, cls, on) {
    const node = id ? nodeById.get(id) : undefined;
    if (!node) return;
    node.classList.toggle(cls, on);
    const info = state && state.markInfo.get(id);
    if (info && laneNodes[info.lane.index]) {
      const ln = laneNodes[info.lane.index];
      ln.plot.classList.toggle(`fp-lane--has-${cls.slice(9)}`, on);
      ln.label.classList.toggle(`fp-lane--has-${cls.slice(9)}`, on);
    }
  }

  function updateHighlights(scroll) {
    const sel = str(model.get("selected"));
    const pin = str(model.get("pinned"));
    // Clear old classes (the nodes may be gone after a re-render: harmless).
    toggleMark(selectedId, "fp-mark--selected", false);
    toggleMark(pinnedId, "fp-mark--pinned", false);
    selectedId = sel;
    pinnedId = pin;
    toggleMark(sel, "fp-mark--selected", true);
    toggleMark(pin, "fp-mark--pinned", true);
    placeRing(selRing, sel);
    placeRing(pinRing, pin);
    if (scroll && sel) scrollIntoView(sel);
  }

  // Scroll only the widget's own container: element.scrollIntoView would also move the page.
  function scrollIntoView(id) {
    const info = state && state.markInfo.get(id);
    if (!info) return;
    const viewW = scroller.clientWidth - LABEL_W;
    const viewH = scroller.clientHeight - AXIS_H;
    const margin = 24;
    const x = info.x;
    const y = info.y;
    if (x - margin < scroller.scrollLeft || x + margin > scroller.scrollLeft + viewW) {
      scroller.scrollLeft = Math.max(0, x - viewW / 2);
    }
    if (y - LANE_H < scroller.scrollTop || y + LANE_H > scroller.scrollTop + viewH) {
      scroller.scrollTop = Math.max(0, y - viewH / 2);
    }
  }

  function select(id) {
    model.set("selected", id);
    model.save_changes();
  }

  // Events.
  const onClick = (event) => {
    const target = event.target;
    const markNode = target && target.closest ? target.closest(".fp-mark") : null;
    if (markNode && scroller.contains(markNode)) {
      const id = markNode.getAttribute("data-id");
      if (id !== null) select(id);
      return;
    }
    const laneNode = target && target.closest ? target.closest("[data-run-id]") : null;
    if (!laneNode || !state) return;
    const runId = laneNode.getAttribute("data-run-id");
    const lane = state.lanes.find((l) => l.runId === runId);
    if (lane && lane.marks.length) select(lane.marks[lane.marks.length - 1].id);
  };

  const onWheel = (event) => {
    if (!(event.ctrlKey || event.metaKey)) return;
    event.preventDefault();
    userZoomed = true;
    const factor = Math.exp(-Math.max(-200, Math.min(200, event.deltaY)) * 0.0025);
    setZoom(clampZoom(model.get("zoom")) * factor, viewportAnchor(event.clientX));
  };

  const onKey = (event) => {
    if (!state || !state.lanes.length) return;
    const key = event.key;
    if (!["ArrowLeft", "ArrowRight", "ArrowUp", "ArrowDown", "Escape"].includes(key)) return;
    event.preventDefault();
    event.stopPropagation();
    if (key === "Escape") {
      if (model.get("selected")) select("");
      return;
    }
    const cur = state.markInfo.get(str(model.get("selected")));
    if (!cur) {
      const first = state.lanes.find((l) => l.marks.length);
      if (first) select(first.marks[0].id);
      return;
    }
    const lane = cur.lane;
    if (key === "ArrowLeft" || key === "ArrowRight") {
      const i = lane.marks.indexOf(cur) + (key === "ArrowRight" ? 1 : -1);
      if (i >= 0 && i < lane.marks.length) select(lane.marks[i].id);
      return;
    }
    const dir = key === "ArrowDown" ? 1 : -1;
    for (let li = lane.index + dir; li >= 0 && li < state.lanes.length; li += dir) {
      const other = state.lanes[li];
      if (!other.marks.length) continue;
      let best = other.marks[0];
      for (const info of other.marks) {
        if (Math.abs(info.col - cur.col) < Math.abs(best.col - cur.col)) best = info;
      }
      select(best.id);
      return;
    }
  };

  let userZoomed = false; // until the user zooms, the view follows the width of the notebook
  const onZoomIn = () => {
    userZoomed = true;
    setZoom(clampZoom(model.get("zoom")) * 1.25, null);
  };
  const onZoomOut = () => {
    userZoomed = true;
    setZoom(clampZoom(model.get("zoom")) / 1.25, null);
  };

  scroller.addEventListener("click", onClick);
  scroller.addEventListener("wheel", onWheel, { passive: false });
  scroller.addEventListener("keydown", onKey);
  btnIn.addEventListener("click", onZoomIn);
  btnOut.addEventListener("click", onZoomOut);
  btnFit.addEventListener("click", fitZoom);
  const onAxis = () => {
    model.set("x_axis", model.get("x_axis") === "time" ? "seq" : "time");
    model.save_changes();
    fitted = false;
  };
  btnAxis.addEventListener("click", onAxis);
  overview.addEventListener("click", onOverview);
  scroller.addEventListener("scroll", onScroll, { passive: true });

  // Coalesce bursts of changes (e.g. runs + marks + step_colors set together in one
  // message) into one render. A microtask, not requestAnimationFrame: it also runs while
  // the notebook tab is in the background.
  let pending = false;
  let disposed = false;
  let legendDirty = false;
  const schedule = () => {
    if (pending) return;
    pending = true;
    queueMicrotask(() => {
      pending = false;
      if (disposed) return;
      if (legendDirty) {
        legendDirty = false;
        renderLegend();
      }
      renderAll();
    });
  };
  const onData = () => schedule();
  const onColors = () => {
    legendDirty = true;
    schedule();
  };
  const onHighlight = () => updateHighlights(true);

  const handlers = [
    ["change:runs", onData],
    ["change:marks", onData],
    ["change:zoom", onData],
    ["change:x_axis", onData],
    ["change:step_colors", onColors],
    ["change:selected", onHighlight],
    ["change:pinned", onHighlight],
  ];
  for (const [name, cb] of handlers) model.on(name, cb);

  renderLegend();
  renderAll();
  // Fit the width once the container has a size (and again after the axis changes), then
  // bring the selection into view.
  let fitted = false;
  const fitWhenSized = () => {
    if (disposed) return;
    if (!scroller.clientWidth) {
      fitTimer = setTimeout(fitWhenSized, 100);
      return;
    }
    if (!fitted && state && state.markCount) {
      fitted = true;
      fitZoom();
    }
    drawOverview();
    if (str(model.get("selected"))) scrollIntoView(str(model.get("selected")));
  };
  let fitTimer = setTimeout(fitWhenSized, 0);
  const refit = () => {
    if (!fitted) {
      clearTimeout(fitTimer);
      fitTimer = setTimeout(fitWhenSized, 0);
    }
  };
  model.on("change:marks", refit);
  model.on("change:x_axis", refit);
  let lastWidth = 0;
  const resizer = typeof ResizeObserver === "undefined" ? null : new ResizeObserver(() => {
    const width = scroller.clientWidth;
    if (!width || Math.abs(width - lastWidth) < 2) return;
    const first = lastWidth === 0;
    lastWidth = width;
    if (!first && fitted && !userZoomed && state && state.markCount) fitZoom();
    drawOverview();
  });
  if (resizer) resizer.observe(scroller);

  return () => {
    disposed = true;
    clearTimeout(fitTimer);
    if (resizer) resizer.disconnect();
    model.off("change:marks", refit);
    model.off("change:x_axis", refit);
    btnAxis.removeEventListener("click", onAxis);
    overview.removeEventListener("click", onOverview);
    scroller.removeEventListener("scroll", onScroll);
    for (const [name, cb] of handlers) model.off(name, cb);
    scroller.removeEventListener("click", onClick);
    scroller.removeEventListener("wheel", onWheel);
    scroller.removeEventListener("keydown", onKey);
    btnIn.removeEventListener("click", onZoomIn);
    btnOut.removeEventListener("click", onZoomOut);
    btnFit.removeEventListener("click", fitZoom);
    root.remove();
  };
}

export default { render };
