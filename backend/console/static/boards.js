// The boards: responders and what each is doing now, device health by community, and the
// SLA of acknowledgements as charts. Each board has a loader (API calls) and a renderer
// (DOM from what was loaded), so that a language switch re-renders without a request.
import { call } from "./api.js";
import { $, el, svg, telLink } from "./dom.js";
import { browserZone, formatShare, formatTime, language, t, tOr } from "./i18n.js";

const DAY_MS = 24 * 3600 * 1000;
const NO_COMMUNITY = "—";

// --- responders ------------------------------------------------------------------------

export async function loadResponders() {
  const [responders, tasks] = await Promise.all([
    call("GET", "/responders?active=true&limit=1000"),
    call("GET", "/dispatches?live=true&limit=1000"),
  ]);
  return { responders: responders.items, tasks: tasks.items };
}

function dutyText(responder) {
  if (responder.on_duty === null) return t("responders.unknown");
  const state = t(responder.on_duty ? "responders.on" : "responders.off");
  if (responder.availability === null) return `${state} (${t("responders.always")})`;
  const windows = responder.availability.map((w) => `${w.start}–${w.end}`).join(", ");
  return windows ? `${state} (${windows})` : state;
}

/** Render the responders, busiest first; `openAlert(id)` shows an alert a task is for. */
export function renderResponders(data, openAlert) {
  const tasksOf = new Map();
  for (const task of data.tasks) {
    if (!tasksOf.has(task.responder_id)) tasksOf.set(task.responder_id, []);
    tasksOf.get(task.responder_id).push(task);
  }
  const rank = (r) => (tasksOf.has(r.id) ? 0 : r.on_duty ? 1 : 2);
  const sorted = [...data.responders].sort((a, b) => rank(a) - rank(b) || a.name.localeCompare(b.name));
  const rows = sorted.map((r) => {
    const tasks = tasksOf.get(r.id) || [];
    const row = el("tr", undefined, { "data-id": r.id, "data-busy": String(tasks.length > 0) });
    const phone = el("td");
    if (r.phone) phone.append(telLink(r.phone));
    const duty = el("td", dutyText(r), { class: r.on_duty ? "duty-on" : "duty-off" });
    const doing = el("td");
    if (!tasks.length) doing.append(t(r.on_duty ? "responders.free" : "responders.idle"));
    for (const task of tasks) {
      const since = task.arrived_at || task.accepted_at || task.created_at;
      const text = t("responders.task", {
        status: t(`rtask.${task.status}`),
        kind: tOr(`kind.${task.kind}`, task.kind),
        home: task.home,
        since: formatTime(since),
      });
      const link = el("button", text, { type: "button", class: `task task-${task.status}`, "data-alert": task.alert_id });
      link.addEventListener("click", () => openAlert(task.alert_id));
      doing.append(link);
    }
    row.append(el("td", r.name), el("td", tOr(`rkind.${r.kind}`, r.kind)), phone, duty, doing);
    return row;
  });
  if (!rows.length) {
    const row = el("tr");
    row.append(el("td", t("responders.none"), { colspan: "5" }));
    rows.push(row);
  }
  $("#responders-table tbody").replaceChildren(...rows);
  $("#responders-summary").textContent = t("responders.summary", {
    total: data.responders.length,
    on: data.responders.filter((r) => r.on_duty).length,
    busy: tasksOf.size,
  });
}

// --- device health ---------------------------------------------------------------------

export async function loadDevices() {
  return (await call("GET", "/device-health?limit=1000")).items;
}

function healthRow(home, device) {
  const row = el("tr", undefined, { class: "bad", "data-home": home.id });
  const name = home.label ? `${home.id} · ${home.label}` : home.id;
  const gateway = home.gateway_online === null ? "unknown" : home.gateway_online ? "online" : "offline";
  const cells = [el("td", name), el("td", t(`detail.${gateway}`), { class: `gw-${gateway}` })];
  if (device) {
    cells.push(
      el("td", device.id, { class: "device" }),
      el("td", device.room || ""),
      el("td", device.problems.map((p) => t(`problem.${p}`)).join(", "), { class: "problem" }),
      el("td", device.battery === null ? "" : `${Math.round(device.battery)}%`),
    );
  } else {
    cells.push(el("td", "—"), el("td", ""), el("td", t("problem.gateway_offline"), { class: "problem" }), el("td", ""));
  }
  row.append(...cells);
  return row;
}

/** Render homes with a problem, grouped by their community ("—" for none). */
export function renderDevices(homes) {
  const groups = new Map();
  for (const home of homes) {
    const key = home.community || NO_COMMUNITY;
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).push(home);
  }
  const sections = [...groups].map(([community, members]) => {
    const section = el("section", undefined, { class: "community", "data-community": community });
    section.append(el("h3", t("devices.group", { community, homes: members.length })));
    const table = el("table");
    const head = el("tr");
    for (const key of ["devices.home", "devices.gateway", "devices.device", "devices.room", "devices.problem", "devices.battery"]) {
      head.append(el("th", t(key)));
    }
    table.append(el("thead"), el("tbody"));
    table.tHead.append(head);
    for (const home of members) {
      if (home.gateway_online === false) table.tBodies[0].append(healthRow(home, null));
      for (const device of home.devices) table.tBodies[0].append(healthRow(home, device));
    }
    section.append(table);
    return section;
  });
  $("#devices-groups").replaceChildren(...sections);
  $("#devices-empty").hidden = homes.length > 0;
  const devices = homes.flatMap((h) => h.devices);
  $("#devices-summary").textContent = t("devices.summary", {
    gateways: homes.filter((h) => h.gateway_online === false).length,
    offline: devices.filter((d) => d.problems.includes("offline")).length,
    low: devices.filter((d) => d.problems.includes("low_battery")).length,
  });
}

// --- SLA -------------------------------------------------------------------------------

export async function loadSla(days) {
  const until = new Date();
  const since = new Date(until.getTime() - days * DAY_MS);
  const window = `since=${encodeURIComponent(since.toISOString())}&until=${encodeURIComponent(until.toISOString())}`;
  const query = `${window}&tz=${encodeURIComponent(browserZone())}`;
  const [byDay, byOperator] = await Promise.all([
    call("GET", `/reports/sla?group_by=period&period=day&${query}`),
    call("GET", `/reports/sla?group_by=operator&${query}`),
  ]);
  return { byDay, byOperator };
}

const CHART_W = 640;

/** A bin as "15–30" (seconds, up to the 180 s target), then "3–5 min" and "≥10 min". */
function binLabel(bin) {
  if (bin.to_s === null) return `≥${t("sla.minutes", { n: bin.from_s / 60 })}`;
  if (bin.to_s <= 180) return `${bin.from_s}–${bin.to_s}`;
  return t("sla.minutes", { n: `${bin.from_s / 60}–${bin.to_s / 60}` });
}

function bandClass(seconds) {
  if (seconds < 60) return "ok";
  return seconds < 180 ? "warn" : "late";
}

/** Bars of acknowledged alerts by time taken, with the 60 s and 180 s targets marked. */
function histogram(chart, bins) {
  const left = 40, bottom = 36, top = 12, height = 200;
  const plotH = height - top - bottom;
  const band = (CHART_W - left - 10) / bins.length;
  const max = Math.max(1, ...bins.map((b) => b.count));
  const nodes = [svg("line", { class: "axis", x1: left, x2: CHART_W - 10, y1: top + plotH, y2: top + plotH })];
  for (const value of [0, max]) {
    const y = top + plotH - (value / max) * plotH;
    nodes.push(svg("text", { x: left - 6, y: y + 4, "text-anchor": "end" }, String(value)));
  }
  bins.forEach((bin, i) => {
    const x = left + i * band;
    const h = (bin.count / max) * plotH;
    const bar = svg("rect", { class: `bar ${bandClass(bin.from_s)}`, x: x + 3, y: top + plotH - h, width: band - 6, height: h, "data-count": bin.count });
    bar.append(svg("title", {}, `${binLabel(bin)}: ${bin.count}`));
    nodes.push(bar);
    if (bin.count) nodes.push(svg("text", { x: x + band / 2, y: top + plotH - h - 3, "text-anchor": "middle" }, String(bin.count)));
    nodes.push(svg("text", { x: x + band / 2, y: top + plotH + 14, "text-anchor": "middle" }, binLabel(bin)));
    if (bin.from_s === 60 || bin.from_s === 180) {
      nodes.push(svg("line", { class: "target", x1: x, x2: x, y1: top, y2: top + plotH }));
      nodes.push(svg("text", { class: "target-label", x: x + 3, y: top + 10 }, t("sla.seconds", { n: bin.from_s })));
    }
  });
  nodes.push(svg("text", { x: left, y: top + plotH + 30 }, t("sla.axis_seconds")));
  chart.setAttribute("viewBox", `0 0 ${CHART_W} ${height}`);
  chart.replaceChildren(...nodes);
}

/** Two bars per group, the shares acknowledged within 60 s and 180 s, against the standard. */
function shares(chart, groups, standard, label) {
  const left = 40, bottom = 40, top = 12, height = 200;
  const plotH = height - top - bottom;
  const y = (share) => top + plotH - share * plotH;
  const nodes = [];
  for (const tick of [0, 0.5, 1]) {
    nodes.push(svg("line", { class: "grid", x1: left, x2: CHART_W - 10, y1: y(tick), y2: y(tick) }));
    nodes.push(svg("text", { x: left - 6, y: y(tick) + 4, "text-anchor": "end" }, formatShare(tick)));
  }
  if (!groups.length) {
    nodes.push(svg("text", { x: CHART_W / 2, y: top + plotH / 2, "text-anchor": "middle" }, t("sla.none")));
  }
  const band = Math.min(90, (CHART_W - left - 10) / Math.max(1, groups.length));
  // Labels need about 40 units each: with many days, only every n-th is written.
  const every = Math.ceil(40 / band);
  groups.forEach((group, i) => {
    const x = left + i * band;
    const measure = group.acknowledge;
    [["within_60s", "s60"], ["within_180s", "s180"]].forEach(([field, cls], j) => {
      const value = measure[field];
      const barW = (band - 10) / 2;
      const h = value === null ? 0 : value * plotH;
      const bar = svg("rect", { class: `bar ${cls}`, x: x + 5 + j * barW, y: top + plotH - h, width: barW, height: h });
      bar.append(svg("title", {}, t(`sla.${field}`, { share: formatShare(value), n: group.alerts })));
      nodes.push(bar);
    });
    if (i % every) return;
    nodes.push(svg("text", { x: x + band / 2, y: top + plotH + 14, "text-anchor": "middle" }, label(group.key)));
    nodes.push(svg("text", { class: "count", x: x + band / 2, y: top + plotH + 28, "text-anchor": "middle" }, `n=${group.alerts}`));
  });
  for (const [field, cls] of [["within_60s", "s60"], ["within_180s", "s180"]]) {
    const at = y(standard[field]);
    nodes.push(svg("line", { class: `standard ${cls}`, x1: left, x2: CHART_W - 10, y1: at, y2: at }));
  }
  chart.setAttribute("viewBox", `0 0 ${CHART_W} ${height}`);
  chart.replaceChildren(...nodes);
}

function dayLabel(key) {
  const [year, month, day] = key.split("-").map(Number);
  const date = new Date(Date.UTC(year, month - 1, day));
  return new Intl.DateTimeFormat(language(), { month: "numeric", day: "numeric", timeZone: "UTC" }).format(date);
}

/** Render the SLA board from both reports (by day, by operator). */
export function renderSla(data) {
  const { byDay, byOperator } = data;
  const ack = byDay.total.acknowledge;
  const seconds = (v) => (v === null ? "—" : t("sla.seconds", { n: Math.round(v) }));
  $("#sla-summary").textContent = t("sla.summary", {
    alerts: byDay.total.alerts,
    s60: formatShare(ack.within_60s),
    s180: formatShare(ack.within_180s),
    p50: seconds(ack.p50),
    p90: seconds(ack.p90),
    zone: byDay.time_zone,
  });
  histogram($("#sla-histogram"), byDay.acknowledge_histogram);
  shares($("#sla-days"), byDay.groups, byDay.standard, dayLabel);
  shares($("#sla-operators"), byOperator.groups, byOperator.standard, (key) => key || t("sla.nobody"));
  $("#board-sla").dataset.loaded = "true";
}
