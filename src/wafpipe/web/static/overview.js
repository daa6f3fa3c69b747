// The overview's charts: events over time stacked by outcome (with spikes against a rolling
// baseline marked) and security events by attack type. Data from /api/*; a click on a bar opens
// the search for what it shows.
"use strict";

const OUTCOMES = [
  ["blocked", "#c0392b"], ["challenged", "#e67e22"], ["passed", "#2e86c1"], ["cached", "#7f8c8d"], ["bad", "#8e44ad"],
];
const BASELINE = 12; // buckets before each one that make its baseline
const SIGMAS = 3;

function quote(field, value) {
  return field + ':"' + String(value).replace(/\\/g, "\\\\").replace(/"/g, '\\"') + '"';
}

function searchUrl(range, query, extra) {
  const params = new URLSearchParams(range);
  params.set("q", query);
  for (const [k, v] of Object.entries(extra || {})) params.set(k, v);
  return "/search?" + params.toString();
}

async function api(path, params) {
  const answer = await fetch(path + "?" + new URLSearchParams(params).toString());
  if (!answer.ok) throw new Error(path + ": HTTP " + answer.status);
  return answer.json();
}

function window_(canvas) {
  const out = {};
  if (canvas.dataset.since) out.since = canvas.dataset.since;
  if (canvas.dataset.until) out.until = canvas.dataset.until;
  return out;
}

function spikes(totals) {
  const marked = [];
  for (let i = BASELINE; i < totals.length; i++) {
    const before = totals.slice(i - BASELINE, i);
    const mean = before.reduce((a, b) => a + b, 0) / before.length;
    const sd = Math.sqrt(before.reduce((a, b) => a + (b - mean) ** 2, 0) / before.length);
    if (totals[i] > mean + SIGMAS * sd && totals[i] > 2 * mean && totals[i] >= 10) marked.push(i);
  }
  return marked;
}

async function timeline(canvas) {
  // one pass over the events: each bucket split by outcome class
  const split = await api("/api/histogram", { ...window_(canvas), by: "imperva.waf.action_class" });
  const interval = split.interval_seconds;
  const times = split.buckets.map((b) => b.time);
  if (!times.length) {
    canvas.replaceWith(document.createTextNode("No events in this range."));
    return;
  }
  const totals = split.buckets.map((b) => b.count);
  const marked = spikes(totals);
  const datasets = OUTCOMES.map(([name, color]) => ({
    label: name, backgroundColor: color, data: split.buckets.map((b) => b.by[name] || 0),
  }));
  const chart = new Chart(canvas, {
    type: "bar",
    data: { labels: times, datasets },
    options: {
      animation: false, responsive: true,
      scales: { x: { stacked: true, ticks: { maxTicksLimit: 12 } }, y: { stacked: true, beginAtZero: true } },
      onClick: (event, elements) => {
        if (!elements.length) return;
        const { datasetIndex, index } = elements[0];
        const start = times[index];
        const end = new Date(Date.parse(start) + interval * 1000).toISOString();
        window.location.assign(searchUrl("", "imperva.waf.action_class:" + OUTCOMES[datasetIndex][0],
                                         { since: start, until: end }));
      },
    },
  });
  const note = document.getElementById("spikes");
  if (marked.length) {
    note.textContent = "Spikes (over " + SIGMAS + " standard deviations above the previous " + BASELINE +
      " buckets): " + marked.map((i) => times[i]).join(", ");
    note.classList.add("alert");
    chart.data.datasets.forEach((d) => { d.borderColor = times.map((_, i) => (marked.includes(i) ? "#000" : "transparent")); d.borderWidth = 2; });
    chart.update();
  }
  canvas.dataset.ready = "1";
}

async function attackTypes(canvas) {
  const top = await api("/api/top", { ...window_(canvas), field: "rule.category", q: canvas.dataset.q, limit: "15" });
  const labels = top.values.map((v) => String(v.value));
  new Chart(canvas, {
    type: "bar",
    data: { labels, datasets: [{ label: "security events", backgroundColor: "#c0392b", data: top.values.map((v) => v.count) }] },
    options: {
      animation: false, indexAxis: "y", responsive: true,
      onClick: (event, elements) => {
        if (!elements.length) return;
        const value = labels[elements[0].index];
        window.location.assign(searchUrl(canvas.dataset.range, "(" + canvas.dataset.q + ") and (" + quote("rule.category", value) + ")"));
      },
    },
  });
  canvas.dataset.ready = "1";
}

// The world map: source countries shaded by their events (log scale). Shapes: Natural Earth's
// 110m countries from world-atlas, made polygons by topojson-client; their ISO numeric codes become
// the alpha-2 codes of source.geo.country_iso_code through i18n-iso-countries' code table.
// Equirectangular: longitude and latitude map straight onto the canvas.
function shade(t) {
  const from = [245, 183, 177], to = [146, 43, 33];
  return "rgb(" + from.map((c, i) => Math.round(c + (to[i] - c) * t)).join(",") + ")";
}

async function worldMap(canvas) {
  const [atlas, codes, top] = await Promise.all([
    fetch("/static/vendor/countries-110m.json").then((r) => r.json()),
    fetch("/static/vendor/iso-3166-codes.json").then((r) => r.json()),
    api("/api/top", { ...window_(canvas), field: "source.geo.country_iso_code", limit: "300" }),
  ]);
  const alpha2 = new Map(codes.map(([a2, , numeric]) => [numeric, a2]));
  const counts = new Map(top.values.map((v) => [String(v.value), v.count]));
  const most = Math.log1p(Math.max(1, ...counts.values()));
  const ctx = canvas.getContext("2d");
  const project = ([lon, lat]) => [((lon + 180) / 360) * canvas.width, ((90 - lat) / 180) * canvas.height];
  const shapes = [];
  for (const country of topojson.feature(atlas, atlas.objects.countries).features) {
    if (country.properties.name === "Antarctica") continue; // no traffic, and a band across the bottom
    const code = alpha2.get(String(country.id).padStart(3, "0"));
    const events = counts.get(code) || 0;
    const polygons = country.geometry.type === "Polygon" ? [country.geometry.coordinates]
      : country.geometry.type === "MultiPolygon" ? country.geometry.coordinates : [];
    const path = new Path2D();
    for (const polygon of polygons) {
      for (const ring of polygon) {
        // a ring that crosses the antimeridian jumps from one edge to the other: no line across
        ring.forEach((point, i) => {
          const [x, y] = project(point);
          if (i && Math.abs(point[0] - ring[i - 1][0]) < 180) path.lineTo(x, y);
          else path.moveTo(x, y);
        });
      }
    }
    ctx.fillStyle = events ? shade(Math.log1p(events) / most) : "#eaeded";
    ctx.fill(path, "evenodd");
    ctx.strokeStyle = "#fff";
    ctx.stroke(path);
    shapes.push({ path, code, events, name: country.properties.name });
  }
  const at = (event) => {
    const x = (event.offsetX * canvas.width) / canvas.clientWidth;
    const y = (event.offsetY * canvas.height) / canvas.clientHeight;
    return shapes.find((s) => ctx.isPointInPath(s.path, x, y, "evenodd"));
  };
  const tip = document.getElementById("map-tip");
  canvas.addEventListener("mousemove", (event) => {
    const shape = at(event);
    tip.textContent = shape ? shape.name + " (" + (shape.code || "?") + "): " + shape.events + " events" : "";
  });
  canvas.addEventListener("click", (event) => {
    const shape = at(event);
    if (shape && shape.code) window.location.assign(searchUrl(canvas.dataset.range, quote("source.geo.country_iso_code", shape.code)));
  });
  canvas.dataset.countries = String(shapes.filter((s) => s.events).length);
  canvas.dataset.ready = "1";
}

document.addEventListener("DOMContentLoaded", () => {
  const t = document.getElementById("timeline");
  const a = document.getElementById("attack-types");
  const m = document.getElementById("world-map");
  if (t) timeline(t).catch((err) => { t.replaceWith(document.createTextNode(String(err))); });
  if (a) attackTypes(a).catch((err) => { a.replaceWith(document.createTextNode(String(err))); });
  if (m) worldMap(m).catch((err) => { m.replaceWith(document.createTextNode(String(err))); });
});
