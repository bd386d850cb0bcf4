// Dashboard (evaluation summary, per-class AP, PR curves, confusion matrix, slices, TIDE), dataset and runs pages.
"use strict";
CV.table = function (head, rows, onRow) {
  const t = CV.el("table", {}, CV.el("tr", {}, head.map((h, i) => CV.el("th", {cls: i < 2 ? "name" : "", text: h}))));
  rows.forEach((r, k) => t.append(CV.el("tr", {cls: onRow ? "click" : "", onclick: onRow ? () => onRow(k) : null},
    r.map((v, i) => (v instanceof Node ? CV.el("td", {}, v) : CV.el("td", {cls: i < 2 ? "name" : "", text: v}))))));
  return t;
};

CV.panel = (title, ...body) => CV.el("div", {cls: "panel"}, CV.el("h3", {text: title}), ...body);

CV.pages.dashboard = async function (main) {
  const d = await CV.api("/api/dashboard");
  if (!d.evaluation) { main.append(CV.el("p", {text: "No results given (--results): nothing evaluated."})); return; }
  const pending = Object.entries(d.status).filter(([, v]) => v === "pending").map(([k]) => k);
  if (pending.length) {
    main.append(CV.el("p", {cls: "pending", text: `computing ${pending.join(", ")}… (this page refreshes)`}));
    const timer = setTimeout(() => CV.route().page === "dashboard" && CV.render(), 2000);
    CV.cleanup = () => clearTimeout(timer);
  }
  const wrap = CV.el("div", {cls: "cards"});
  main.append(wrap);
  wrap.append(CV.panel(`${d.evaluation.iou_type} evaluation (cocoseg eval's numbers)`, CV.el("pre", {text: d.summary})));
  const pc = d.evaluation.per_class;
  const link = (row, outcome, iou) => CV.el("a", {href: `#grid?cat=${row.category_id}&outcome=${outcome}&iou=${iou}&sort=${outcome === "fn" ? "fn" : "fp"}`,
    text: `${outcome.toUpperCase()}@${iou}`, onclick: (e) => e.stopPropagation()});
  wrap.append(CV.panel("per-class AP (click a row: its images; links: its errors)", CV.table(
    ["id", "name", "AP", "AP50", "AP75", "GT", "dets", "errors"],
    pc.map((r) => [r.category_id, r.name, CV.fmt(r.ap), CV.fmt(r.ap50), CV.fmt(r.ap75), r.num_gt, r.num_dt,
      CV.el("span", {}, link(r, "fp", "0.5"), " ", link(r, "fp", "0.75"), " ", link(r, "fn", "0.5"))]),
    (k) => CV.go("grid", null, {cat: pc[k].category_id}))));
  if (d.pr) wrap.append(CV.prPanel(d.pr));
  if (d.confusion) wrap.append(CV.confusionPanel(d.confusion));
  if (d.slices) wrap.append(CV.panel("challenge slices", CV.table(["slice", "what", "GT", "images", "AP", "AP50", "AP75", "AR"],
    d.slices.slices.map((s) => [s.name, s.description, s.num_gt, s.num_images, CV.fmt(s.ap), CV.fmt(s.ap50), CV.fmt(s.ap75), CV.fmt(s.ar)]),
    (k) => { const s = d.slices.slices[k].name; if (["small", "medium", "large", "occluded", "crowded"].includes(s)) CV.go("grid", null, {slice: s}); })));
  if (d.tide) {
    const names = Object.keys(d.tide.delta_ap);
    wrap.append(CV.panel(`TIDE errors (AP50 ${CV.fmt(d.tide.ap)}; click: their images)`, CV.table(["error", "", "count", "ΔAP"],
      names.map((n) => [n, "", d.tide.counts[n] ?? "", (100 * d.tide.delta_ap[n]).toFixed(2)]),
      (k) => { if (CV.status.error_types.includes(names[k])) CV.go("grid", null, {error: names[k], iou: "0.5"}); })));
  }
};

CV.prPanel = function (pr) {
  const keys = Object.keys(pr.curves);
  const mean = (rows) => pr.recall.map((_, i) => { const v = rows.filter((r) => r).map((r) => r[i]); return v.length ? v.reduce((a, b) => a + b, 0) / v.length : null; });
  const box = CV.el("div");
  const choose = CV.select("pr-class", "", [["", "mean over classes"], ...pr.category_ids.map((c, k) => [k, pr.names[k]])], () => show());
  const show = () => {
    const k = choose.value;
    const series = keys.map((t, i) => ({x: pr.recall, y: k === "" ? mean(pr.curves[t]) : pr.curves[t][Number(k)] || [], label: `IoU ${t}`, color: ["#4c9aff", "#ff9600"][i]}));
    box.replaceChildren(CV.lineChart(series, {xr: [0, 1], yr: [0, 1], title: "precision vs recall"}));
  };
  show();
  return CV.panel("PR curves", choose, box);
};

CV.confusionPanel = function (cm) {
  const k = cm.names.length, m = cm.matrix;
  const used = [...Array(k + 1).keys()].filter((i) => i === k || m[i].some((v) => v) || m.some((r) => r[i]));
  const labels = [...cm.names, "background"], ids = [...cm.category_ids, "bg"];
  const top = Math.max(1, ...m.flat());
  const t = CV.el("table", {cls: "cm", id: "confusion"}, CV.el("tr", {}, CV.el("th", {text: "true \\ predicted"}), used.map((j) => CV.el("th", {cls: "col", text: labels[j]}))));
  for (const i of used) {
    const tr = CV.el("tr", {}, CV.el("th", {cls: "name", text: labels[i]}));
    for (const j of used) {
      const v = m[i][j];
      const td = CV.el("td", {"data-true": ids[i], "data-pred": ids[j], title: `${labels[i]} → ${labels[j]}: ${v}`, text: v || ""});
      if (v) {
        td.style.background = `rgba(${i === j ? "60,200,60" : "235,40,40"},${0.15 + 0.85 * v / top})`;
        td.onclick = () => CV.go("grid", null, {cell: `${ids[i]},${ids[j]}`});
      }
      tr.append(td);
    }
    t.append(tr);
  }
  return CV.panel(`confusion matrix (IoU ${cm.iou_threshold}, score ≥ ${cm.confidence.toFixed(3)}; click a cell: its images)`, t);
};

CV.pages.dataset = async function (main) {
  const d = await CV.api("/api/dataset"), s = d.stats, dist = d.distributions;
  const wrap = CV.el("div", {cls: "cards"});
  main.append(wrap);
  wrap.append(CV.panel("statistics", CV.table(["", "value"], [
    ["images", `${s.images} (${s.images_without_annotations} without annotations)`], ["annotations", `${s.annotations} (${s.crowd} crowd)`],
    ["categories", s.categories], ["masks", `${s.polygons} polygons (${s.multi_part_polygons} multi-part), ${s.rle} RLE, ${s.boxes_only} box only`],
    ["sizes", `small ${s.small}, medium ${s.medium}, large ${s.large}`],
    ["per image", `min ${s.per_image_min}, mean ${s.per_image_mean.toFixed(2)}, max ${s.per_image_max}`]])));
  wrap.append(CV.panel("instances per class (crowd apart)", CV.barChart(dist.classes.counts, {title: dist.classes.names.slice(0, 12).join(", ") + "…"}),
    CV.table(["class", "", "instances", "crowd"], dist.classes.names.map((n, i) => [n, "", dist.classes.counts[i], dist.classes.crowd[i]]),
      (i) => CV.go("grid", null, {cat: dist.classes.ids[i]}))));
  for (const [key, title] of [["box_area", "box area"], ["mask_area", "mask area"]]) {
    const h = dist[key];
    wrap.append(CV.panel(`${title}: small ${h.sizes.small}, medium ${h.sizes.medium}, large ${h.sizes.large} (red: 32², 96²)`,
      CV.barChart(h.counts, {edges: h.edges, xlog: true, marks: h.boundaries})));
  }
  wrap.append(CV.panel("annotations per image", CV.barChart(dist.objects_per_image.counts)));
  wrap.append(CV.panel("box aspect ratio log2(w/h), −4 … 4", CV.barChart(dist.aspect_ratio.counts, {edges: dist.aspect_ratio.edges})));
  wrap.append(CV.panel(`crowd regions: ${dist.crowd.regions} in ${dist.crowd.images} images`, CV.barChart(dist.crowd.per_class, {color: "#d8833b"}),
    CV.el("p", {}, CV.el("a", {href: "#grid?slice=crowd", text: "show the images with crowd regions"}))));
};

CV.pages.runs = async function (main) {
  const d = await CV.api("/api/runs");
  if (!d.runs.length) { main.append(CV.el("p", {text: "No runs (start with --runs DIR, a folder of training runs)."})); return; }
  const names = d.runs.map((r, i) => [i, r.name]);
  const a = CV.select("run-a", 0, names, () => show()), b = CV.select("run-b", "", [["", "(none)"], ...names], () => show());
  const columns = [...new Set(d.runs.flatMap((r) => r.columns))].filter((c) => c !== "epoch");
  const col = CV.select("column", columns.find((c) => /map50-95|mAP50-95/i.test(c)) || columns[0], columns.map((c) => [c, c]), () => show());
  const out = CV.el("div");
  main.append(CV.el("div", {cls: "bar"}, CV.el("label", {text: "run"}), a, CV.el("label", {text: "overlay"}), b, CV.el("label", {text: "curve"}), col), out);
  const show = () => {
    const chosen = [d.runs[Number(a.value)], b.value === "" ? null : d.runs[Number(b.value)]].filter(Boolean);
    const series = chosen.map((r, i) => ({x: r.values.epoch || r.values[r.columns[0]].map((_, j) => j), y: r.values[col.value] || [], label: r.name, color: ["#4c9aff", "#ff9600"][i]}));
    const curves = CV.el("div", {cls: "cards"}, CV.panel(col.value, CV.lineChart(series, {title: col.value + " per epoch"})));
    for (const r of chosen) {
      curves.append(CV.panel(`${r.name}: final metrics`, CV.el("pre", {text: JSON.stringify(r.metrics, null, 1) || "(no metrics.json)"})),
        CV.panel(`${r.name}: args`, CV.el("pre", {text: r.args ? Object.entries(r.args).map(([k, v]) => `${k}: ${JSON.stringify(v)}`).join("\n") : "(no args.yaml)"})));
    }
    out.replaceChildren(curves);
  };
  show();
};
