// The grid page: filters and sort (evaluated server-side on numpy arrays), thumbnails, paging.
"use strict";
CV.GRID_KEYS = ["cat", "outcome", "iou", "error", "score_min", "score_max", "slice", "side_min", "side_max", "sort", "order", "cell", "images"];
CV.PAGE = 60;

CV.gridQuery = function (query) {
  const q = {};
  for (const k of CV.GRID_KEYS) if (query[k] !== undefined && query[k] !== "") q[k] = query[k];
  return q;
};

CV.select = function (name, value, options, onchange) {
  const s = CV.el("select", {name, onchange});
  for (const [v, label] of options) s.append(CV.el("option", {value: v, text: label, selected: String(v) === String(value ?? "")}));
  return s;
};

CV.filterBar = function (q, apply) {
  const st = CV.status, hasResults = st.detections !== null;
  const set = (key) => (ev) => { const next = {...q, [key]: ev.target.value}; delete next.cell; delete next.images; apply(next); };
  const cats = [["", "all categories"], ...st.categories.map((c) => [c.id, `${c.name} (${c.count})`])];
  const bar = CV.el("div", {cls: "bar", id: "filters"},
    CV.el("label", {text: "category"}), CV.select("cat", q.cat, cats, set("cat")));
  if (hasResults) {
    bar.append(
      CV.el("label", {text: "outcome"}), CV.select("outcome", q.outcome, [["", "any"], ["tp", "TP"], ["fp", "FP"], ["fn", "FN"]], set("outcome")),
      CV.el("label", {text: "IoU"}), CV.select("iou", q.iou || "0.5", st.iou_thresholds.map((t) => [t, t.toFixed(2)]), set("iou")),
      CV.el("label", {text: "error"}), CV.select("error", q.error, [["", "any"], ...st.error_types.map((e) => [e, e])], set("error")),
      CV.el("label", {text: "score"}),
      CV.el("input", {type: "number", name: "score_min", step: "0.05", min: 0, max: 1, placeholder: "min", value: q.score_min || "", onchange: set("score_min")}),
      CV.el("input", {type: "number", name: "score_max", step: "0.05", min: 0, max: 1, placeholder: "max", value: q.score_max || "", onchange: set("score_max")}));
  }
  bar.append(
    CV.el("label", {text: "slice"}),
    CV.select("slice", q.slice, [["", "any"], ["small", "small objects"], ["medium", "medium objects"], ["large", "large objects"],
      ["occluded", "occluded objects"], ["crowd", "crowd regions"], ["crowded", "crowded images"]], set("slice")),
    CV.el("label", {text: "image side"}),
    CV.el("input", {type: "number", name: "side_min", placeholder: "min px", value: q.side_min || "", onchange: set("side_min")}),
    CV.el("input", {type: "number", name: "side_max", placeholder: "max px", value: q.side_max || "", onchange: set("side_max")}));
  const sorts = [["id", "image id"], ["file", "file name"], ["objects", "objects"]];
  if (hasResults) sorts.push(["ap", "image AP"], ["f1", "F1"], ["fp", "false positives"], ["fn", "false negatives"], ["tp", "true positives"]);
  if (st.audit) sorts.push(["audit", "audit score"]);
  if (st.ranking) sorts.push(["rank", "ranking score"]);
  bar.append(CV.el("label", {text: "sort"}), CV.select("sort", q.sort || "id", sorts, set("sort")),
    CV.select("order", q.order, [["", "default order"], ["asc", "ascending"], ["desc", "descending"]], set("order")));
  if (q.cell) bar.append(CV.el("span", {cls: "badge b-dim", text: "confusion cell " + q.cell}));
  return bar;
};

CV.card = function (row, q) {
  const thumb = new URLSearchParams({iou: q.iou || "0.5", score_min: q.score_min || "0", cat: q.cat || ""}).toString();
  const badges = CV.el("div", {cls: "badges"});
  if (CV.status.detections !== null) {
    badges.append(CV.el("span", {cls: "badge b-tp", text: "TP " + row.tp}), CV.el("span", {cls: "badge b-fp", text: "FP " + row.fp}),
      CV.el("span", {cls: "badge b-fn", text: "FN " + row.fn}));
    if (row.ap !== null) badges.append(CV.el("span", {cls: "badge b-dim", text: "AP " + row.ap.toFixed(2)}));
  } else badges.append(CV.el("span", {cls: "badge b-dim", text: row.objects + " objects"}));
  if (row.audit !== null) badges.append(CV.el("span", {cls: "badge b-dim", text: "audit " + row.audit.toFixed(2)}));
  if (row.rank !== null) badges.append(CV.el("span", {cls: "badge b-dim", text: "rank " + row.rank.toFixed(2)}));
  return CV.el("div", {cls: "card", "data-id": row.id, title: row.file, onclick: () => CV.go("image", row.id, q)},
    CV.el("img", {loading: "lazy", alt: row.file, src: `/api/thumb/${row.id}?${thumb}`}),
    CV.el("div", {cls: "cap", text: row.file}), badges);
};

CV.pages.grid = async function (main, route) {
  const q = CV.gridQuery(route.query);
  main.append(CV.filterBar(q, (next) => CV.go("grid", null, CV.gridQuery(next))));
  const info = CV.el("div", {cls: "dim", id: "grid-info", text: "loading…"});
  const grid = CV.el("div", {cls: "grid", id: "grid"});
  const more = CV.el("button", {cls: "more", text: "more"});
  main.append(info, grid, more);
  let offset = 0, total = 0, busy = false;
  const load = async () => {
    if (busy || (offset && offset >= total)) return;
    busy = true;
    const page = await CV.api("/api/images", {...q, offset, limit: CV.PAGE});
    busy = false;
    if (page.pending) { info.textContent = `waiting for the ${page.pending} (computing in the background)…`; setTimeout(load, 1000); return; }
    total = page.total;
    info.textContent = `${total} images`;
    for (const row of page.rows) grid.append(CV.card(row, q));
    offset += page.rows.length;
    more.hidden = offset >= total;
  };
  more.onclick = load;
  const watcher = new IntersectionObserver((entries) => { if (entries.some((e) => e.isIntersecting)) load(); });
  watcher.observe(more);
  CV.cleanup = () => watcher.disconnect();
  await load();
};
