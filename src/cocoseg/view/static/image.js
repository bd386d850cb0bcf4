// The image page: full resolution, zoom and pan, GT and predictions overlaid or side by side.
"use strict";
CV.view = {masks: true, boxes: true, labels: true, gt: true, pred: true, side: false, opacity: 0.5, score: 0.0, colour: "instance"};

// An instance's mask drawn on an offscreen canvas of the image's size; hit() tests a pixel.
CV.maskLayer = function (seg, w, h, colour) {
  const layer = document.createElement("canvas");
  layer.width = w; layer.height = h;
  const ctx = layer.getContext("2d");
  ctx.fillStyle = colour;
  let hit = () => false;
  if (seg && seg.polygons) {
    const paths = seg.polygons.filter((p) => p.length >= 6).map((p) => {
      const path = new Path2D();
      path.moveTo(p[0], p[1]);
      for (let i = 2; i < p.length; i += 2) path.lineTo(p[i], p[i + 1]);
      path.closePath();
      return path;
    });
    paths.forEach((p) => ctx.fill(p));
    hit = (x, y) => paths.some((p) => ctx.isPointInPath(p, x, y));
  } else if (seg && seg.rle) {
    const [rh, rw] = seg.rle.size, counts = seg.rle.counts;
    const img = ctx.createImageData(rw, rh), px = img.data;
    const rgb = CV.rgbOf(colour);
    const ends = [];
    let at = 0;
    counts.forEach((n, k) => {
      if (k % 2 === 1) for (let j = at; j < at + n; j++) {
        const x = Math.floor(j / rh), y = j % rh, o = (y * rw + x) * 4;
        px[o] = rgb[0]; px[o + 1] = rgb[1]; px[o + 2] = rgb[2]; px[o + 3] = 255;
      }
      at += n; ends.push(at);
    });
    ctx.putImageData(img, 0, 0);
    hit = (x, y) => {
      const j = Math.floor(x) * rh + Math.floor(y);
      let lo = 0, hi = ends.length - 1;
      while (lo < hi) { const mid = (lo + hi) >> 1; if (ends[mid] > j) hi = mid; else lo = mid + 1; }
      return lo % 2 === 1;
    };
  }
  return {canvas: layer, hit};
};

CV.rgbOf = function (css) {
  const probe = document.createElement("canvas").getContext("2d");
  probe.fillStyle = css; probe.fillRect(0, 0, 1, 1);
  return probe.getImageData(0, 0, 1, 1).data;
};

CV.itemColour = function (item, k, isGt) {
  if (CV.view.colour === "class") return CV.classColor(item.category_id);
  if (CV.view.colour === "outcome") return isGt ? (item.fn ? CV.outcomeColor.fn : CV.outcomeColor.tp) : CV.outcomeColor[item.outcome];
  return CV.instanceColor(k + (isGt ? 0 : 7));
};

CV.pages.image = async function (main, route) {
  const id = Number(route.arg), q = CV.gridQuery(route.query);
  const rec = await CV.api(`/api/image/${id}`, {iou: q.iou || "0.5"});
  const img = new Image();
  img.src = `/api/image/${id}/file`;
  await img.decode().catch(() => null);
  const w = img.naturalWidth || rec.image.width, h = img.naturalHeight || rec.image.height;
  const state = {scale: 0, ox: 0, oy: 0, hot: null};
  const layers = {gt: [], pred: []};
  const build = () => {
    layers.gt = rec.gt.map((a, k) => ({item: a, kind: "gt", ...CV.maskLayer(a.seg, w, h, CV.itemColour(a, k, true)), colour: CV.itemColour(a, k, true)}));
    layers.pred = rec.dets.map((d, k) => ({item: d, kind: "pred", ...CV.maskLayer(d.seg, w, h, CV.itemColour(d, k, false)), colour: CV.itemColour(d, k, false)}));
  };
  build();
  const toolbar = CV.el("div", {cls: "bar", id: "image-tools"});
  const stage = CV.el("div", {cls: "stage"});
  const side = CV.el("div", {cls: "side", id: "side"});
  const detail = CV.el("pre", {id: "record"});
  main.append(toolbar, CV.el("div", {cls: "viewer"}, stage, side));
  const canvases = [CV.el("canvas", {id: "canvas-a"}), CV.el("canvas", {id: "canvas-b"})];
  const shown = (l) => (l.kind === "gt" ? CV.view.gt : CV.view.pred && l.item.score >= CV.view.score);

  const draw = () => {
    canvases[1].hidden = !CV.view.side;
    const sets = CV.view.side ? [layers.gt, layers.pred] : [[...layers.gt, ...layers.pred]];
    sets.forEach((set, i) => {
      const c = canvases[i], rect = c.getBoundingClientRect();
      c.width = Math.max(1, rect.width); c.height = Math.max(1, rect.height);
      if (!state.scale) { state.scale = Math.min(c.width / w, c.height / h); state.ox = (c.width - w * state.scale) / 2; state.oy = (c.height - h * state.scale) / 2; }
      const ctx = c.getContext("2d");
      ctx.setTransform(1, 0, 0, 1, 0, 0); ctx.clearRect(0, 0, c.width, c.height);
      ctx.setTransform(state.scale, 0, 0, state.scale, state.ox, state.oy);
      ctx.imageSmoothingEnabled = state.scale < 2;
      if (img.naturalWidth) ctx.drawImage(img, 0, 0);
      const visible = set.filter(shown);
      if (CV.view.masks) { ctx.globalAlpha = CV.view.opacity; visible.forEach((l) => ctx.drawImage(l.canvas, 0, 0)); ctx.globalAlpha = 1; }
      ctx.lineWidth = 2 / state.scale; ctx.font = `${12 / state.scale}px sans-serif`;
      for (const l of visible) {
        const [x, y, bw, bh] = l.item.bbox || [0, 0, 0, 0];
        ctx.strokeStyle = l.colour;
        ctx.setLineDash(l.kind === "pred" ? [6 / state.scale, 3 / state.scale] : []);
        if (CV.view.boxes || l === state.hot) ctx.strokeRect(x, y, bw, bh);
        if (CV.view.labels) {
          const text = l.item.name + (l.kind === "pred" ? ` ${l.item.score.toFixed(2)} ${l.item.outcome}` : l.item.fn ? " FN" : "");
          ctx.fillStyle = l.colour; ctx.fillText(text, x + 2 / state.scale, y - 3 / state.scale);
        }
      }
      ctx.setLineDash([]);
    });
  };

  const toggle = (key, label) => {
    const b = CV.el("button", {"data-toggle": key, cls: CV.view[key] ? "on" : "", text: label,
      onclick: () => { CV.view[key] = !CV.view[key]; b.classList.toggle("on", CV.view[key]); draw(); }});
    return b;
  };
  const step = async (delta) => {
    const res = await CV.api("/api/neighbor", {...q, id, step: delta});
    if (res.id !== null && res.id !== undefined) CV.go("image", res.id, q);
  };
  toolbar.append(
    CV.el("button", {text: "◀ grid", onclick: () => CV.go("grid", null, q)}),
    CV.el("button", {text: "‹ prev", onclick: () => step(-1)}), CV.el("button", {text: "next ›", onclick: () => step(1)}),
    CV.el("span", {text: `${rec.image.file_name} (${rec.image.width}×${rec.image.height}, id ${id})`}),
    toggle("gt", "GT"), toggle("pred", "predictions"), toggle("masks", "masks"), toggle("boxes", "boxes"), toggle("labels", "labels"),
    toggle("side", "side by side"),
    CV.el("label", {text: "opacity"}),
    CV.el("input", {type: "range", min: 0, max: 1, step: 0.05, value: CV.view.opacity, name: "opacity",
      oninput: (e) => { CV.view.opacity = Number(e.target.value); draw(); }}),
    CV.el("label", {text: "score ≥"}),
    CV.el("input", {type: "number", min: 0, max: 1, step: 0.05, value: CV.view.score, name: "score",
      onchange: (e) => { CV.view.score = Number(e.target.value); draw(); }}),
    CV.select("colour", CV.view.colour, [["instance", "colour by instance"], ["class", "colour by class"], ["outcome", "colour by TP/FP/FN"]],
      (e) => { CV.view.colour = e.target.value; build(); draw(); }),
    CV.el("span", {cls: "dim", text: "keys: ←/→ image, g p m b l s toggles, +/− zoom, 0 fit, Esc grid"}));

  const list = (title, items, kind) => {
    side.append(CV.el("h4", {text: title}));
    items.forEach((it, k) => {
      const text = kind === "gt" ? `${it.name} #${it.id}${it.iscrowd ? " crowd" : ""}${it.fn ? " · FN" : ""}${it.miss ? " · miss" : ""}`
        : `${it.name} ${it.score.toFixed(3)} · ${it.outcome}${it.error ? " · " + it.error : ""}`;
      side.append(CV.el("div", {cls: "inst", "data-kind": kind, "data-row": k, text,
        onmouseenter: () => { state.hot = layers[kind][k]; detail.textContent = JSON.stringify(it.record, null, 1); draw(); }}));
    });
  };
  list(`ground truth (${rec.gt.length})`, rec.gt, "gt");
  if (CV.status.detections !== null) list(`predictions (${rec.dets.length}) at IoU ${rec.iou}`, rec.dets, "pred");
  side.append(CV.el("h4", {text: "record under the pointer"}), detail);

  let drag = null;
  const onMove = (ev) => {
    const c = ev.currentTarget, r = c.getBoundingClientRect();
    if (drag) { state.ox += ev.clientX - drag[0]; state.oy += ev.clientY - drag[1]; drag = [ev.clientX, ev.clientY]; draw(); return; }
    const x = (ev.clientX - r.left - state.ox) / state.scale, y = (ev.clientY - r.top - state.oy) / state.scale;
    const pool = (CV.view.side ? (c === canvases[0] ? layers.gt : layers.pred) : [...layers.gt, ...layers.pred]).filter(shown);
    const inBox = (l) => { const b = l.item.bbox || [0, 0, 0, 0]; return x >= b[0] && y >= b[1] && x <= b[0] + b[2] && y <= b[1] + b[3]; };
    const hits = pool.filter((l) => inBox(l) && (!l.item.seg || l.hit(x, y)));
    hits.sort((a, b) => a.item.bbox[2] * a.item.bbox[3] - b.item.bbox[2] * b.item.bbox[3]);
    const hot = hits[0] || null;
    if (hot !== state.hot) { state.hot = hot; detail.textContent = hot ? JSON.stringify(hot.item.record, null, 1) : ""; draw(); }
  };
  const zoom = (factor, cx, cy) => {
    state.ox = cx - (cx - state.ox) * factor; state.oy = cy - (cy - state.oy) * factor; state.scale *= factor; draw();
  };
  canvases.forEach((c) => {
    stage.append(c);
    c.addEventListener("mousemove", onMove);
    c.addEventListener("mousedown", (ev) => { drag = [ev.clientX, ev.clientY]; });
    c.addEventListener("wheel", (ev) => { ev.preventDefault(); const r = c.getBoundingClientRect(); zoom(ev.deltaY < 0 ? 1.2 : 1 / 1.2, ev.clientX - r.left, ev.clientY - r.top); });
  });
  const up = () => { drag = null; };
  const keys = (ev) => {
    if (ev.target.tagName === "INPUT" || ev.target.tagName === "SELECT") return;
    const map = {g: "gt", p: "pred", m: "masks", b: "boxes", l: "labels", s: "side"};
    if (map[ev.key]) { document.querySelector(`[data-toggle=${map[ev.key]}]`).click(); return; }
    if (ev.key === "ArrowRight") step(1);
    else if (ev.key === "ArrowLeft") step(-1);
    else if (ev.key === "Escape") CV.go("grid", null, q);
    else if (ev.key === "+" || ev.key === "=") zoom(1.25, canvases[0].width / 2, canvases[0].height / 2);
    else if (ev.key === "-") zoom(0.8, canvases[0].width / 2, canvases[0].height / 2);
    else if (ev.key === "0") { state.scale = 0; draw(); }
  };
  window.addEventListener("mouseup", up);
  window.addEventListener("keydown", keys);
  window.addEventListener("resize", draw);
  CV.cleanup = () => { window.removeEventListener("mouseup", up); window.removeEventListener("keydown", keys); window.removeEventListener("resize", draw); };
  draw();
  main.dataset.drawn = "1";
};
