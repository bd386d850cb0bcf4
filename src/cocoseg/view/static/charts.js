// Minimal canvas charts: lines (PR curves, training curves) and bars (histograms).
"use strict";
CV.chartCanvas = function (width, height) {
  const c = CV.el("canvas", {cls: "chart"});
  c.style.width = width + "px"; c.style.height = height + "px";
  c.width = width * devicePixelRatio; c.height = height * devicePixelRatio;
  const ctx = c.getContext("2d");
  ctx.scale(devicePixelRatio, devicePixelRatio);
  return [c, ctx];
};

CV.axes = function (ctx, w, h, box, xr, yr, opts) {
  ctx.fillStyle = "#20232a"; ctx.fillRect(0, 0, w, h);
  ctx.strokeStyle = "#555"; ctx.strokeRect(box.l, box.t, w - box.l - box.r, h - box.t - box.b);
  ctx.fillStyle = "#9aa0aa"; ctx.font = "10px sans-serif";
  const fx = (v) => (opts.xlog ? v.toExponential(0) : Math.abs(v) >= 1000 ? v.toExponential(1) : +v.toFixed(2));
  for (let i = 0; i <= 4; i++) {
    const yv = yr[0] + (yr[1] - yr[0]) * i / 4, y = h - box.b - (h - box.t - box.b) * i / 4;
    ctx.fillText(String(+yv.toPrecision(3)), 2, y + 3);
    const xv = opts.xlog ? Math.pow(10, Math.log10(xr[0]) + (Math.log10(xr[1]) - Math.log10(xr[0])) * i / 4) : xr[0] + (xr[1] - xr[0]) * i / 4;
    ctx.fillText(String(fx(xv)), box.l + (w - box.l - box.r) * i / 4 - 8, h - 4);
  }
  if (opts.title) { ctx.fillStyle = "#e6e6e6"; ctx.fillText(opts.title, box.l, 11); }
};

CV.lineChart = function (series, opts = {}) {
  const w = opts.width || 560, h = opts.height || 260, box = {l: 42, r: 10, t: 16, b: 18};
  const [canvas, ctx] = CV.chartCanvas(w, h);
  const xs = series.flatMap((s) => s.x), ys = series.flatMap((s) => s.y).filter((v) => v !== null && isFinite(v));
  const xr = opts.xr || [Math.min(...xs), Math.max(...xs)], yr = opts.yr || [Math.min(0, ...ys), Math.max(...ys, 1e-9)];
  CV.axes(ctx, w, h, box, xr, yr, opts);
  const X = (v) => box.l + (v - xr[0]) / (xr[1] - xr[0] || 1) * (w - box.l - box.r);
  const Y = (v) => h - box.b - (v - yr[0]) / (yr[1] - yr[0] || 1) * (h - box.t - box.b);
  series.forEach((s, k) => {
    ctx.strokeStyle = s.color || CV.instanceColor(k); ctx.lineWidth = s.width || 1.5; ctx.beginPath();
    let pen = false;
    s.x.forEach((x, i) => {
      const y = s.y[i];
      if (y === null || !isFinite(y)) { pen = false; return; }
      if (pen) ctx.lineTo(X(x), Y(y)); else ctx.moveTo(X(x), Y(y));
      pen = true;
    });
    ctx.stroke();
    ctx.fillStyle = ctx.strokeStyle; ctx.fillText(s.label || "", w - box.r - 150, box.t + 12 + 12 * k);
  });
  return canvas;
};

CV.barChart = function (values, opts = {}) {
  const w = opts.width || 560, h = opts.height || 220, box = {l: 42, r: 10, t: 16, b: 18};
  const [canvas, ctx] = CV.chartCanvas(w, h);
  const n = values.length, top = Math.max(1, ...values);
  const xr = opts.xr || [0, n], xlog = !!opts.edges && opts.xlog;
  CV.axes(ctx, w, h, box, opts.edges ? [opts.edges[0], opts.edges[n]] : xr, [0, top], {title: opts.title, xlog});
  const pw = w - box.l - box.r, ph = h - box.t - box.b;
  const pos = (i) => {
    if (!opts.edges) return box.l + pw * i / n;
    const e = opts.edges, lo = xlog ? Math.log10(e[0]) : e[0], hi = xlog ? Math.log10(e[n]) : e[n];
    return box.l + pw * ((xlog ? Math.log10(e[i]) : e[i]) - lo) / (hi - lo);
  };
  ctx.fillStyle = opts.color || "#3b7dd8";
  values.forEach((v, i) => { const x0 = pos(i), x1 = pos(i + 1); ctx.fillRect(x0, h - box.b - ph * v / top, Math.max(1, x1 - x0 - 1), ph * v / top); });
  ctx.strokeStyle = "#d33"; ctx.setLineDash([4, 3]);
  for (const b of opts.marks || []) {
    const e = opts.edges, lo = Math.log10(e[0]), hi = Math.log10(e[n]);
    const x = box.l + pw * (Math.log10(b) - lo) / (hi - lo);
    ctx.beginPath(); ctx.moveTo(x, box.t); ctx.lineTo(x, h - box.b); ctx.stroke();
  }
  ctx.setLineDash([]);
  canvas.title = opts.tooltip || "";
  return canvas;
};
