// cocoseg view: shared state, the API client, routing and small DOM helpers.
"use strict";
const CV = {pages: {}, status: null};

CV.el = function (tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (k === "text") node.textContent = v;
    else if (k === "cls") node.className = v;
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined) node.append(c);
  return node;
};

CV.api = async function (path, params) {
  const qs = params ? "?" + new URLSearchParams(params).toString() : "";
  const res = await fetch(path + qs, {credentials: "same-origin"});
  const body = res.headers.get("Content-Type", "").startsWith("application/json") ? await res.json() : {error: await res.text()};
  if (res.status === 503) return {pending: body.pending || true};
  if (!res.ok) throw new Error(body.error || res.statusText);
  return body;
};

CV.fmt = (v, digits = 3) => (v === null || v === undefined || v < 0 ? "–" : Number(v).toFixed(digits));

// routes: #page/arg?query
CV.route = function () {
  const hash = location.hash.replace(/^#/, "") || "grid";
  const [pathPart, queryPart] = hash.split("?");
  const [page, arg] = pathPart.split("/");
  return {page, arg, query: Object.fromEntries(new URLSearchParams(queryPart || ""))};
};

CV.go = function (page, arg, query) {
  const clean = Object.fromEntries(Object.entries(query || {}).filter(([, v]) => v !== "" && v !== null && v !== undefined));
  const qs = new URLSearchParams(clean).toString();
  location.hash = page + (arg !== undefined && arg !== null ? "/" + arg : "") + (qs ? "?" + qs : "");
};

CV.render = async function () {
  const r = CV.route();
  document.querySelectorAll("nav a").forEach((a) => a.classList.toggle("active", a.dataset.page === (r.page === "image" ? "grid" : r.page)));
  const main = document.getElementById("main");
  if (CV.cleanup) { CV.cleanup(); CV.cleanup = null; }
  main.replaceChildren();
  const page = CV.pages[r.page] || CV.pages.grid;
  try { await page(main, r); } catch (err) { main.append(CV.el("p", {cls: "pending", text: "error: " + err.message})); }
};

CV.showStatus = function () {
  const s = CV.status;
  const bits = [`${s.images} images`, `${s.annotations} annotations`];
  if (s.detections !== null) bits.push(`${s.detections} detections (${s.iou_type})`);
  const pending = Object.entries(s.analyses).filter(([, v]) => v === "pending").map(([k]) => k);
  if (pending.length) bits.push("computing: " + pending.join(", "));
  document.getElementById("status").textContent = bits.join(" · ");
  return pending.length;
};

CV.pollStatus = async function () {
  CV.status = await CV.api("/api/status");
  if (CV.showStatus()) setTimeout(CV.pollStatus, 1500);
};

CV.categoryName = function (id) {
  const c = (CV.status.categories || []).find((x) => x.id === Number(id));
  return c ? c.name : String(id);
};

// per-instance colours: golden-angle hues, so neighbours in an image differ
CV.instanceColor = (i) => `hsl(${(i * 137.508) % 360}, 85%, 55%)`;
CV.classColor = (id) => `hsl(${(Number(id) * 47) % 360}, 80%, 55%)`;
CV.outcomeColor = {tp: "#3cc83c", fp: "#eb2828", ignored: "#aaaaaa", fn: "#ff9600"};
