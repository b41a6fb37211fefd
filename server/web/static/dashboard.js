/* Dashboard: headline figures from /api/admin/metrics and small SVG charts drawn from successive
   readings of /api/admin/metrics/counters (rates are differences between two readings). Readings are
   kept in sessionStorage for half an hour so that moving between pages does not lose the history. */
(function () {
  "use strict";
  const P = window.P16;
  const { api, el } = P;

  const SVG = "http://www.w3.org/2000/svg";
  const STORE_KEY = "post16.dashboard.readings";
  const root = document.getElementById("dashboard");
  const refreshSeconds = Number(root.dataset.refreshSeconds) || 30;
  const keep = Math.max(2, Math.ceil(1800 / refreshSeconds) + 1);
  const updated = document.getElementById("updated-at");
  let readings = loadReadings();
  let timer = null;

  function loadReadings() {
    try {
      const stored = JSON.parse(sessionStorage.getItem(STORE_KEY) || "[]");
      return Array.isArray(stored) ? stored : [];
    } catch (error) {
      return [];
    }
  }

  function saveReadings() {
    try {
      sessionStorage.setItem(STORE_KEY, JSON.stringify(readings));
    } catch (error) {
      /* storage full or off: the charts still work for this page view */
    }
  }

  function total(values) {
    return Object.values(values || {}).reduce((sum, value) => sum + value, 0);
  }

  function addReading(counters) {
    const last = readings[readings.length - 1];
    // A restarted server starts its counters again from zero: the old readings no longer subtract.
    if (last && (counters.http_requests < last.http_requests || counters.sampled_at <= last.sampled_at)) readings = [];
    readings.push(counters);
    if (readings.length > keep) readings = readings.slice(readings.length - keep);
    saveReadings();
  }

  /* The q-quantile of the requests between two readings, from the histogram's bucket differences. */
  function quantile(before, after, q) {
    const bounds = Object.keys(after.buckets);
    const count = after.count - before.count;
    if (count <= 0) return null;
    let previousBound = 0;
    let previousCount = 0;
    for (const bound of bounds) {
      const cumulative = (after.buckets[bound] || 0) - ((before.buckets || {})[bound] || 0);
      if (cumulative >= q * count) {
        if (bound === "+Inf") return previousBound;
        const upper = Number(bound);
        const inBucket = cumulative - previousCount;
        const fraction = inBucket > 0 ? (q * count - previousCount) / inBucket : 1;
        return previousBound + (upper - previousBound) * fraction;
      }
      if (bound !== "+Inf") previousBound = Number(bound);
      previousCount = cumulative;
    }
    return previousBound;
  }

  function rates() {
    const series = { requests: [], mean: [], p95: [], applied: [], other: [], limited: [] };
    for (let i = 1; i < readings.length; i += 1) {
      const a = readings[i - 1];
      const b = readings[i];
      const seconds = b.sampled_at - a.sampled_at;
      if (seconds <= 0) continue;
      const t = b.sampled_at * 1000;
      series.requests.push({ t, v: (b.http_requests - a.http_requests) / seconds });
      const count = b.latency.count - a.latency.count;
      series.mean.push({ t, v: count > 0 ? ((b.latency.sum_seconds - a.latency.sum_seconds) / count) * 1000 : null });
      const p95 = quantile(a.latency, b.latency, 0.95);
      series.p95.push({ t, v: p95 === null ? null : p95 * 1000 });
      const applied = (b.sync_operations.applied || 0) - (a.sync_operations.applied || 0);
      const all = total(b.sync_operations) - total(a.sync_operations);
      series.applied.push({ t, v: (applied / seconds) * 60 });
      series.other.push({ t, v: ((all - applied) / seconds) * 60 });
      series.limited.push({ t, v: ((total(b.rate_limited) - total(a.rate_limited)) / seconds) * 60 });
    }
    return series;
  }

  /* --- drawing ---------------------------------------------------------------------------------- */
  function svg(tag, attributes, ...children) {
    const node = document.createElementNS(SVG, tag);
    for (const [key, value] of Object.entries(attributes || {})) node.setAttribute(key, String(value));
    for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    return node;
  }

  function niceMax(value) {
    if (!(value > 0)) return 1;
    const power = 10 ** Math.floor(Math.log10(value));
    for (const step of [1, 2, 2.5, 5, 10]) if (value <= step * power) return step * power;
    return 10 * power;
  }

  function shortNumber(value) {
    if (value === null || value === undefined) return "—";
    if (value >= 100) return P.formatNumber(Math.round(value));
    if (value >= 10) return value.toFixed(1).replace(/\.0$/, "");
    return value.toFixed(2).replace(/\.?0+$/, "") || "0";
  }

  function clock(ms, withSeconds) {
    const parts = { hour: "2-digit", minute: "2-digit" };
    if (withSeconds) parts.second = "2-digit";
    return new Date(ms).toLocaleTimeString("en-GB", parts);
  }

  function figure(id) {
    const node = document.getElementById(id);
    return { body: P.clear(node.querySelector(".chart-body")), now: node.querySelector(".chart-now") };
  }

  function waiting(body, text) {
    body.append(el("p", { class: "chart-empty" }, text));
  }

  /* A line chart of one or more series [{name, kind, points: [{t, v}]}] (v may be null for a gap). */
  function lineChart(id, series, unit) {
    const { body, now } = figure(id);
    const points = series.flatMap((s) => s.points).filter((p) => p.v !== null);
    const latest = series.map((s) => {
      const last = [...s.points].reverse().find((p) => p.v !== null);
      return last ? last.v : null;
    });
    now.textContent = latest[0] === null || latest[0] === undefined ? "" : `now ${shortNumber(latest[0])} ${unit}`;
    if (series[0].points.length < 1) {
      waiting(body, `Collecting readings: the first point appears after ${refreshSeconds} s.`);
      return;
    }
    const width = 320;
    const height = 130;
    const left = 34;
    const right = 8;
    const top = 8;
    const bottom = 20;
    const t0 = Math.min(...series[0].points.map((p) => p.t));
    const t1 = Math.max(...series[0].points.map((p) => p.t));
    const span = Math.max(t1 - t0, 1);
    const max = niceMax(Math.max(0, ...points.map((p) => p.v)));
    const x = (t) => left + (series[0].points.length === 1 ? (width - left - right) : ((t - t0) / span) * (width - left - right));
    const y = (v) => top + (1 - v / max) * (height - top - bottom);
    const summary = series.map((s, i) => `${s.name}: ${latest[i] === null ? "no data" : `${shortNumber(latest[i])} ${unit}`}`).join("; ");
    const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": `${summary}.`, class: "chart-svg" });
    chart.append(svg("title", {}, `${summary}.`));
    for (const fraction of [0, 0.5, 1]) {
      const value = max * fraction;
      chart.append(svg("line", { x1: left, x2: width - right, y1: y(value), y2: y(value), class: "grid" }));
      chart.append(svg("text", { x: left - 4, y: y(value) + 3, class: "axis", "text-anchor": "end" }, shortNumber(value)));
    }
    chart.append(svg("text", { x: left, y: height - 4, class: "axis" }, clock(t0, span < 600000)));
    chart.append(svg("text", { x: width - right, y: height - 4, class: "axis", "text-anchor": "end" }, clock(t1, span < 600000)));
    series.forEach((s, index) => {
      let path = "";
      let pen = false;
      for (const p of s.points) {
        if (p.v === null) {
          pen = false;
          continue;
        }
        path += `${pen ? "L" : "M"}${x(p.t).toFixed(1)} ${y(p.v).toFixed(1)} `;
        pen = true;
      }
      if (path) chart.append(svg("path", { d: path.trim(), class: `line series-${index}` }));
      const last = [...s.points].reverse().find((p) => p.v !== null);
      if (last) chart.append(svg("circle", { cx: x(last.t), cy: y(last.v), r: 2.5, class: `dot series-${index}` }));
    });
    body.append(chart);
    if (series.length > 1) {
      body.append(
        el(
          "ul",
          { class: "legend" },
          series.map((s, index) => el("li", {}, el("span", { class: `swatch series-${index}`, "aria-hidden": "true" }), s.name))
        )
      );
    }
  }

  /* Horizontal bars of totals by label: {label: count}. */
  function barChart(id, totals, labels, emptyText) {
    const { body, now } = figure(id);
    const entries = Object.entries(totals || {}).filter(([, v]) => v > 0);
    entries.sort((a, b) => b[1] - a[1]);
    now.textContent = entries.length ? `${P.formatNumber(Math.round(total(totals)))} in all` : "";
    if (!entries.length) {
      waiting(body, emptyText);
      return;
    }
    const max = Math.max(...entries.map(([, v]) => v));
    const list = el("ul", { class: "bars" });
    for (const [key, value] of entries) {
      const kind = labels[key] ? labels[key][1] : "neutral";
      const label = labels[key] ? labels[key][0] : key;
      const bar = svg("svg", { viewBox: "0 0 100 10", preserveAspectRatio: "none", class: "bar-svg", "aria-hidden": "true" });
      bar.append(svg("rect", { x: 0, y: 0, width: Math.max(1, (value / max) * 100), height: 10, rx: 1.5, class: `bar bar-${kind}` }));
      list.append(el("li", {}, el("span", { class: "bar-label" }, label), bar, el("span", { class: "bar-value" }, P.formatNumber(Math.round(value)))));
    }
    body.append(list);
  }

  function duration(seconds) {
    const minutes = Math.floor(seconds / 60);
    if (minutes < 60) return `${minutes} min`;
    const hours = Math.floor(minutes / 60);
    if (hours < 48) return `${hours} h ${minutes % 60} min`;
    return `${Math.floor(hours / 24)} days`;
  }

  function setStat(name, value) {
    root.querySelector(`[data-stat="${name}"]`).textContent = value;
  }

  /* One row per runner service (POST16_RUNNER_URLS); the section stays hidden when code runs in the
     server's own process. */
  function showRunners(runners) {
    const section = document.getElementById("runners-section");
    const body = document.querySelector("#runners-table tbody");
    P.clear(body);
    section.hidden = !Array.isArray(runners) || runners.length === 0;
    for (const runner of runners || []) {
      const state = !runner.up ? "Down" : runner.usable ? "Up" : "Up, no usable engine";
      body.append(el("tr", {},
        el("td", {}, runner.runner_id ? `${runner.url} (${runner.runner_id})` : runner.url),
        el("td", {}, state),
        el("td", {}, `${P.formatNumber(runner.running)} / ${P.formatNumber(runner.capacity)}`),
        el("td", {}, P.formatNumber(runner.queued)),
        el("td", {}, `${P.formatNumber(runner.pool_ready)} / ${P.formatNumber(runner.pool_size)}`),
        el("td", {}, runner.problem || "—")));
    }
  }

  function showSummary(summary) {
    const users = summary.users || {};
    setStat("pupils", P.formatNumber(users.pupil || 0));
    setStat("staff", `${P.formatNumber(users.teacher || 0)} · ${P.formatNumber(users.admin || 0)}`);
    setStat("sessions", P.formatNumber(summary.active_sessions));
    setStat("answers", P.formatNumber(summary.answers));
    setStat("marks", P.formatNumber(summary.marks));
    setStat("lessons", summary.lessons && summary.lessons.count !== null ? P.formatNumber(summary.lessons.count) : "—");
    const sandbox = summary.sandbox || {};
    setStat("sandbox", sandbox.status ? String(sandbox.status).replace(/^./, (c) => c.toUpperCase()) : "—");
    setStat("uptime", duration(summary.uptime_seconds));
    showRunners(sandbox.runners);
    const warning = document.getElementById("lesson-warning");
    const errors = (summary.lessons && summary.lessons.errors) || [];
    P.clear(warning);
    if (errors.length) {
      warning.append(
        `The last lesson reload was refused (${errors.length} problem${errors.length === 1 ? "" : "s"}); the previous lessons are still served. `,
        el("a", { href: "/admin/lessons" }, "See the problems")
      );
    }
    warning.hidden = errors.length === 0;
  }

  function draw(counters) {
    const series = rates();
    lineChart("chart-requests", [{ name: "Requests per second", points: series.requests }], "/s");
    lineChart("chart-latency", [
      { name: "Mean", points: series.mean },
      { name: "95th percentile", points: series.p95 },
    ], "ms");
    barChart("chart-logins", counters.logins, {
      success: ["Succeeded", "good"],
      failure: ["Failed", "bad"],
      throttled: ["Throttled", "warn"],
      disabled: ["Account disabled", "warn"],
    }, "No logins since the server started.");
    barChart("chart-runs", counters.sandbox_runs, {
      success: ["Ran cleanly", "good"],
      error: ["Pupil's error", "neutral"],
      timeout: ["Timed out", "warn"],
      memory: ["Out of memory", "warn"],
      output_limit: ["Too much output", "warn"],
      unavailable: ["Sandbox unavailable", "bad"],
    }, counters.sandbox_queue ? `No finished runs yet; ${counters.sandbox_queue} waiting.` : "No Python runs since the server started.");
    lineChart("chart-sync", [
      { name: "Applied", points: series.applied },
      { name: "Duplicate or rejected", points: series.other },
    ], "/min");
    lineChart("chart-limited", [{ name: "Refusals per minute", points: series.limited }], "/min");
  }

  async function refresh() {
    try {
      const [summary, counters] = await Promise.all([api("GET", "/api/admin/metrics"), api("GET", "/api/admin/metrics/counters")]);
      addReading(counters);
      showSummary(summary);
      draw(counters);
      updated.textContent = `Updated ${new Date().toLocaleTimeString("en-GB")}`;
    } catch (error) {
      updated.textContent = "";
      P.flash(`The figures could not be refreshed: ${P.describe(error)}`, "error");
    }
  }

  function schedule() {
    clearInterval(timer);
    timer = setInterval(() => {
      if (!document.hidden) refresh();
    }, refreshSeconds * 1000);
  }

  document.getElementById("refresh-now").addEventListener("click", () => {
    refresh();
    schedule();
  });
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden) refresh();
  });
  refresh();
  schedule();
})();
