// The operator console: sign-in, the live alert queue, an alert's detail and its actions,
// and the boards (responders, device health, SLA) reached from the header's nav.
import { ApiError, call, forgetToken, openStream, signIn, signOut, token, whenExpired } from "./api.js";
import { loadDevices, loadResponders, loadSla, renderDevices, renderResponders, renderSla } from "./boards.js";
import { $, el, svg, telLink } from "./dom.js";
import { applyTo, formatTime, language, savedLanguage, setLanguage, t, tOr } from "./i18n.js";

const ACK_TARGET_S = 60;
const ACT_TARGET_S = 180;
const DAY_MS = 24 * 3600 * 1000;
const ALARMS = new Set(["sos", "fall", "smoke", "gas"]);
const LIVE = ["open", "acknowledged", "dispatched"];
const OUTCOMES = ["false_alarm", "resident_ok_after_call", "genuine_emergency", "device_fault", "test"];
const VIEWS = ["queue", "responders", "devices", "sla"];
// Boards refresh this often while shown, and soon after a change on the stream.
const BOARD_REFRESH_MS = 30000;
const BOARD_SETTLE_MS = 500;

const state = {
  me: null,
  alerts: new Map(), // id -> alert (AlertOut)
  selected: null, // alert id
  detail: null, // { alert, home, responders, events, visits }
  view: "queue",
  boards: {}, // view -> what its loader returned
  socket: null,
  retryMs: 500,
  loaded: false,
  audio: null,
  // One set per refetch in flight: the alerts the stream spoke of since that fetch began.
  streamed: new Set(),
};

// --- small DOM helpers ---------------------------------------------------------------

function fill(list, items, render) {
  list.replaceChildren(...(items.length ? items.map(render) : [el("li", t("detail.none_yet"))]));
}

let toastTimer = null;
function toast(text) {
  const box = $("#toast");
  box.textContent = text;
  box.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => (box.hidden = true), 6000);
}

function ageSeconds(alert, now = Date.now()) {
  return Math.max(0, Math.floor((now - Date.parse(alert.opened_at)) / 1000));
}

function formatAge(seconds) {
  const m = Math.floor(seconds / 60);
  const s = String(seconds % 60).padStart(2, "0");
  return m >= 60 ? `${Math.floor(m / 60)}:${String(m % 60).padStart(2, "0")}:${s}` : `${m}:${s}`;
}

/** Green within 60 s, amber to 180 s, red after; an acknowledged alert stops its clock. */
function ageClass(alert, now = Date.now()) {
  const until = alert.acknowledged_at ? Date.parse(alert.acknowledged_at) : now;
  const waited = (until - Date.parse(alert.opened_at)) / 1000;
  if (waited < ACK_TARGET_S) return "age-ok";
  return waited < ACT_TARGET_S ? "age-warn" : "age-late";
}

// --- sign-in -------------------------------------------------------------------------

function showLogin(expired) {
  $("#console-view").hidden = true;
  $("#nav").hidden = true;
  $("#shortcuts").hidden = true;
  $("#who").hidden = true;
  $("#logout").hidden = true;
  $("#login-note").hidden = !expired;
  $("#login-view").hidden = false;
  $("#username").focus();
}

async function enterConsole() {
  state.me = await call("GET", "/auth/me");
  $("#who").textContent = t("who", {
    name: state.me.display_name || state.me.username,
    role: t(`role.${state.me.role}`),
  });
  $("#who").hidden = false;
  $("#logout").hidden = false;
  const operator = state.me.role === "operator";
  $("#act-escalate").hidden = operator;
  // The SLA report needs a supervisor: operators are not offered the board.
  $("#nav [data-view=sla]").hidden = operator;
  if (operator && state.view === "sla") showView("queue");
  $("#login-view").hidden = true;
  $("#console-view").hidden = false;
  $("#nav").hidden = false;
  $("#shortcuts").hidden = state.view !== "queue";
  if (!state.socket) connect();
}

async function onLogin(event) {
  event.preventDefault();
  unlockAudio();
  const expired = !$("#login-note").hidden;
  $("#login-error").hidden = true;
  try {
    await signIn($("#username").value, $("#password").value);
  } catch (err) {
    $("#login-error").textContent = t("login.failed", { detail: err.detail || err.message });
    $("#login-error").hidden = false;
    return;
  }
  $("#password").value = "";
  if (!expired || !state.me) await enterConsole();
  else {
    $("#login-view").hidden = true;
    $("#console-view").hidden = false;
    $("#nav").hidden = false;
    $("#shortcuts").hidden = state.view !== "queue";
    if (!state.socket) connect();
  }
}

function logout() {
  signOut();
  closeStream();
  state.me = null;
  state.alerts.clear();
  state.selected = null;
  state.loaded = false;
  state.boards = {};
  showView("queue");
  renderQueue();
  renderDetail();
  showLogin(false);
}

// --- views: the queue and the boards ---------------------------------------------------

const BOARDS = {
  responders: { load: loadResponders, render: (data) => renderResponders(data, openAlert) },
  devices: { load: loadDevices, render: renderDevices },
  sla: { load: () => loadSla(Number($("#sla-window").value)), render: renderSla },
};

function showView(view) {
  state.view = VIEWS.includes(view) ? view : "queue";
  $("#queue-view").hidden = state.view !== "queue";
  for (const name of Object.keys(BOARDS)) $(`#board-${name}`).hidden = state.view !== name;
  for (const button of document.querySelectorAll("#nav button")) {
    if (button.dataset.view === state.view) button.setAttribute("aria-current", "page");
    else button.removeAttribute("aria-current");
  }
  $("#shortcuts").hidden = $("#console-view").hidden || state.view !== "queue";
  closeForms();
  if (state.view !== "queue") refreshBoard();
}

let boardTimer = null;
let boardSeq = 0;
/** Load the board on show and render it; again every 30 s while it is shown. */
async function refreshBoard() {
  clearTimeout(boardTimer);
  const view = state.view;
  const board = BOARDS[view];
  if (!board || !token()) return;
  const seq = ++boardSeq;
  if (view === "sla") $("#sla-error").hidden = true;
  try {
    const data = await board.load();
    if (seq !== boardSeq || state.view !== view) return;
    state.boards[view] = data;
    board.render(data);
  } catch (err) {
    if (view === "sla" && err instanceof ApiError) {
      $("#sla-error").textContent = t("sla.refused", { detail: err.detail });
      $("#sla-error").hidden = false;
    } else reportError(err);
  }
  if (state.view === view) boardTimer = setTimeout(refreshBoard, BOARD_REFRESH_MS);
}

/** A change on the stream may change what responders are doing: refresh soon. */
function boardChanged() {
  if (state.view !== "responders") return;
  clearTimeout(boardTimer);
  boardTimer = setTimeout(refreshBoard, BOARD_SETTLE_MS);
}

function openAlert(id) {
  showView("queue");
  if (state.alerts.has(id)) select(id);
  else toast(t("responders.gone"));
}

// --- the queue and the stream ----------------------------------------------------------

function sortedAlerts() {
  return [...state.alerts.values()].sort(
    (a, b) => a.priority - b.priority || Date.parse(a.opened_at) - Date.parse(b.opened_at),
  );
}

/** Keep the newer of two versions of an alert; drop it from the queue once resolved. */
function upsert(alert) {
  const known = state.alerts.get(alert.id);
  if (known && known.version > alert.version) return false;
  if (alert.status === "resolved") state.alerts.delete(alert.id);
  else state.alerts.set(alert.id, alert);
  return true;
}

async function refetch() {
  // The stream is subscribed before it opens, so whatever changes after this fetch is sent
  // on it too. An alert the stream has spoken of meanwhile is left as the stream had it: the
  // list may predate that message (the alert would vanish, or a resolved one come back).
  const touched = new Set();
  state.streamed.add(touched);
  let pages;
  try {
    pages = await Promise.all(
      LIVE.map((status) => call("GET", `/alerts?status=${status}&limit=1000`)),
    );
  } finally {
    state.streamed.delete(touched);
  }
  const fresh = new Map();
  for (const page of pages) for (const alert of page.items) fresh.set(alert.id, alert);
  const firstLoad = !state.loaded;
  for (const alert of fresh.values()) {
    if (touched.has(alert.id)) continue;
    const isNew = !state.alerts.has(alert.id);
    const known = state.alerts.get(alert.id);
    if (!known || known.version <= alert.version) state.alerts.set(alert.id, alert);
    if (isNew && !firstLoad && alert.priority === 1 && alert.status === "open") cue(alert.id);
  }
  for (const id of [...state.alerts.keys()]) {
    if (!fresh.has(id) && !touched.has(id)) state.alerts.delete(id);
  }
  state.loaded = true;
  renderQueue();
  // How many lists the queue has taken in: a marker for the browser tests.
  const queue = $("#queue");
  queue.dataset.refetches = String(Number(queue.dataset.refetches || 0) + 1);
  if (state.selected) loadDetail(state.selected);
}

function setConnected(up) {
  const badge = $("#conn");
  badge.dataset.i18n = up ? "conn.up" : "conn.down";
  badge.dataset.state = up ? "up" : "down";
  badge.className = `conn ${up ? "up" : "down"}`;
  badge.textContent = t(badge.dataset.i18n);
}

function connect() {
  if (!token()) return;
  const socket = openStream();
  state.socket = socket;
  socket.addEventListener("open", () => {
    state.retryMs = 500;
    setConnected(true);
    // Whatever changed while the stream was down comes with the list.
    refetch().catch(reportError);
  });
  socket.addEventListener("message", (event) => onMessage(JSON.parse(event.data)));
  socket.addEventListener("close", (event) => {
    if (state.socket !== socket) return;
    state.socket = null;
    setConnected(false);
    if (event.code === 1008) {
      // The token was refused: sign in again, then the stream reopens.
      forgetToken();
      showLogin(true);
      return;
    }
    const wait = state.retryMs;
    state.retryMs = Math.min(state.retryMs * 2, 10000);
    setTimeout(() => {
      if (!state.socket && token()) connect();
    }, wait);
  });
}

function closeStream() {
  const socket = state.socket;
  state.socket = null;
  if (socket) socket.close(1000);
  setConnected(false);
}

function onMessage(message) {
  const alert = message.alert;
  for (const touched of state.streamed) touched.add(alert.id);
  const isNew = !state.alerts.has(alert.id);
  if (!upsert(alert)) return;
  renderQueue();
  if (message.change === "opened" && isNew && alert.priority === 1) cue(alert.id);
  if (alert.id === state.selected) loadDetail(alert.id);
  boardChanged();
}

function renderQueue() {
  const body = $("#queue tbody");
  const alerts = sortedAlerts();
  if (state.selected && !state.alerts.has(state.selected)) state.selected = null;
  const rows = alerts.map((alert) => {
    const row = el("tr", undefined, { "data-id": alert.id, "data-status": alert.status });
    row.className = `p${alert.priority}`;
    if (alert.id === state.selected) row.classList.add("selected");
    if (flashing.has(alert.id)) row.classList.add("flash");
    const holder = alert.assignee || alert.acknowledged_by || t("queue.nobody");
    const age = ageSeconds(alert);
    row.append(
      el("td", `P${alert.priority}`),
      el("td", t(`kind.${alert.kind}`)),
      el("td", alert.home),
      el("td", formatAge(age), { class: `age ${ageClass(alert)}`, "data-age": String(age) }),
      el("td", String(alert.escalation_level)),
      el("td", t(`status.${alert.status}`)),
      el("td", holder),
    );
    row.addEventListener("click", () => select(alert.id));
    return row;
  });
  body.replaceChildren(...rows);
  $("#queue-count").textContent = `(${alerts.length})`;
  $("#queue-empty").hidden = alerts.length > 0;
  if (!state.selected) renderDetail();
}

function tick() {
  for (const cell of document.querySelectorAll("#queue tbody tr")) {
    const alert = state.alerts.get(cell.dataset.id);
    if (!alert) continue;
    const ageCell = cell.querySelector("td.age");
    const age = ageSeconds(alert);
    ageCell.textContent = formatAge(age);
    ageCell.dataset.age = String(age);
    ageCell.className = `age ${ageClass(alert)}`;
  }
}

// --- the cue for a new priority-1 alert -------------------------------------------------

const flashing = new Set();

function unlockAudio() {
  if (state.audio || !window.AudioContext) return;
  state.audio = new AudioContext();
}

function beep() {
  const ctx = state.audio;
  if (!ctx) return;
  const start = ctx.currentTime;
  for (const [offset, freq] of [[0, 880], [0.25, 660], [0.5, 880]]) {
    const osc = ctx.createOscillator();
    const gain = ctx.createGain();
    osc.frequency.value = freq;
    gain.gain.setValueAtTime(0.2, start + offset);
    gain.gain.exponentialRampToValueAtTime(0.001, start + offset + 0.2);
    osc.connect(gain).connect(ctx.destination);
    osc.start(start + offset);
    osc.stop(start + offset + 0.2);
  }
}

function cue(id) {
  flashing.add(id);
  document.body.dataset.cues = String(Number(document.body.dataset.cues || 0) + 1);
  beep();
  renderQueue();
  setTimeout(() => {
    flashing.delete(id);
    renderQueue();
  }, 4000);
}

// --- the detail panel ---------------------------------------------------------------------

function select(id) {
  state.selected = id;
  closeForms();
  renderQueue();
  loadDetail(id);
}

let detailSeq = 0;
async function loadDetail(id) {
  const seq = ++detailSeq;
  const alertCall = call("GET", `/alerts/${id}`);
  const alert = await alertCall.catch((err) => (reportError(err), null));
  if (!alert) return;
  const since = encodeURIComponent(new Date(Date.now() - DAY_MS).toISOString());
  const [home, responders, events, visits] = await Promise.all([
    call("GET", `/homes/${alert.home}`).catch((err) => ({ error: err })),
    call("GET", "/responders?active=true&limit=200").catch(() => ({ items: [] })),
    call("GET", `/homes/${alert.home}/events?since=${since}&limit=1000`).catch(() => ({ items: [] })),
    call("GET", `/homes/${alert.home}/visits?limit=5`).catch(() => ({ items: [] })),
  ]);
  if (seq !== detailSeq || state.selected !== id) return;
  state.detail = {
    alert,
    home,
    responders: responders.items || [],
    events: events.items || [],
    visits: visits.items || [],
  };
  renderDetail();
}

/** The resident's IANA time zone, from their home's care plan; none: the browser's. */
function homeZone() {
  const home = state.detail?.home;
  return home && !home.error ? home.timezone || undefined : undefined;
}

function renderDetail() {
  const detail = state.detail;
  const show = Boolean(state.selected && detail && detail.alert.id === state.selected);
  $("#detail").hidden = !show;
  $("#detail-none").hidden = show;
  if (!show) return;
  const { alert, home } = detail;
  const zone = homeZone();
  const at = (iso) => formatTime(iso, zone);
  $("#detail").dataset.id = alert.id;
  $("#detail").dataset.status = alert.status;
  $("#detail").dataset.tz = zone || "";
  $("#detail-title").textContent = t("detail.title", { kind: t(`kind.${alert.kind}`), home: alert.home });
  $("#detail-tz").textContent = zone ? t("detail.tz", { zone }) : t("detail.tz_browser");
  $("#detail-state").textContent = t("detail.state", {
    opened: at(alert.opened_at),
    status: t(`status.${alert.status}`),
    level: alert.escalation_level,
  });
  const live = alert.status !== "resolved";
  $("#act-ack").disabled = alert.status !== "open";
  $("#act-dispatch").disabled = !live;
  $("#act-escalate").disabled = !live;
  $("#act-resolve").disabled = !live;
  $("#act-visit").disabled = Boolean(home.error);
  renderHome(home);
  renderRooms(detail.events, alert, zone);
  renderVisits(detail.visits, at);
  fill($("#timeline"), alert.transitions, (tr) =>
    el("li", t("timeline.entry", {
      at: at(tr.at),
      actor: tr.actor,
      action: tr.action ? tOr(`taction.${tr.action.split(":")[0]}`, tr.action) : "",
      status: t(`status.${tr.to_status}`),
    })),
  );
  fill($("#dispatches"), alert.dispatches, (d) =>
    el("li", t("dispatch.entry", {
      responder: responderName(d.responder_id),
      status: t(`dstatus.${d.status}`),
      at: at(d.created_at),
      by: d.created_by,
    })),
  );
  fill($("#notifications"), alert.notifications, (n) => {
    const item = el("li", t("notification.entry", { ...n, status: tOr(`nstatus.${n.status}`, n.status) }));
    if (n.status === "failed") item.className = "bad";
    return item;
  });
  fillResponders();
}

/** The home's latest care visits; one in progress can be checked out from here. */
function renderVisits(visits, at) {
  fill($("#visits"), visits, (v) => {
    const item = el("li", t(v.in_progress ? "visit.entry_open" : "visit.entry", {
      start: at(v.started_at),
      end: at(v.ended_at),
      carer: v.carer || t("visit.nocarer"),
    }), { "data-id": v.id, "data-open": String(v.in_progress) });
    if (v.note) item.append(el("span", ` · ${v.note}`));
    if (v.in_progress) {
      const end = el("button", t("visit.end"), { type: "button", class: "end-visit" });
      end.addEventListener("click", () => endVisit(v));
      item.append(" ", end);
    }
    return item;
  });
}

/** Rooms over the last 24 h: one row per room, one mark per event seen there. */
function renderRooms(events, alert, zone) {
  const chart = $("#rooms-chart");
  const placed = events.filter((e) => e.room);
  $("#rooms-empty").hidden = placed.length > 0;
  const rooms = [...new Set(placed.map((e) => e.room))].sort();
  const width = 600, left = 90, right = 20, rowH = 20, axis = 18;
  const height = rooms.length * rowH + axis;
  const end = Date.now();
  const start = end - DAY_MS;
  const x = (iso) => left + ((Date.parse(iso) - start) / DAY_MS) * (width - left - right);
  const nodes = [];
  rooms.forEach((room, i) => {
    const y = i * rowH + rowH / 2;
    nodes.push(svg("line", { class: "row", x1: left, x2: width - right, y1: y, y2: y }));
    nodes.push(svg("text", { x: 4, y: y + 4 }, room));
  });
  const hour = new Intl.DateTimeFormat(language(), { hour: "2-digit", minute: "2-digit", timeZone: zone });
  for (let h = 0; h <= 24; h += 6) {
    const at = start + h * 3600 * 1000;
    const label = { x: x(new Date(at).toISOString()), y: height - 4, "text-anchor": "middle" };
    nodes.push(svg("text", label, hour.format(at)));
  }
  for (const e of placed) {
    const y = rooms.indexOf(e.room) * rowH + 4;
    const mark = svg("rect", { class: `event${ALARMS.has(e.type) ? " alarm" : ""}`, x: x(e.at) - 1, y, width: 3, height: rowH - 8 });
    mark.append(svg("title", {}, `${formatTime(e.at, zone)} · ${e.room} · ${e.type}`));
    nodes.push(mark);
  }
  const opened = x(alert.opened_at);
  nodes.push(svg("line", { class: "alert-at", x1: opened, x2: opened, y1: 0, y2: height - axis }));
  chart.setAttribute("viewBox", `0 0 ${width} ${height}`);
  chart.toggleAttribute("hidden", !placed.length);
  chart.replaceChildren(...nodes);
}

function responderName(id) {
  const known = (state.detail?.responders || []).find((r) => r.id === id);
  return known ? known.name : id;
}

/** A resident's health conditions as a labelled row of small tags. */
function conditionTags(conditions) {
  const label = t("detail.conditions");
  const tags = el("ul", undefined, { class: "tags", "aria-label": label });
  tags.append(...conditions.map((c) => el("li", c, { class: "tag" })));
  const row = el("div", undefined, { class: "conditions" });
  row.append(el("span", label, { class: "note" }), " ", tags);
  return row;
}

function renderHome(home) {
  const residents = $("#residents");
  if (home.error) {
    const text = t("detail.unavailable", { detail: home.error.detail || home.error.message });
    residents.replaceChildren(el("p", text));
    $("#address").textContent = "";
    $("#contacts").replaceChildren();
    $("#devices").replaceChildren();
    return;
  }
  const year = new Date().getFullYear();
  residents.replaceChildren(
    ...(home.residents.length
      ? home.residents.map((r) => {
          const box = el("div", undefined, { class: "resident" });
          const line = r.birth_year
            ? t("detail.resident_line", { name: r.name, age: year - r.birth_year })
            : t("detail.resident_noage", { name: r.name });
          box.append(el("strong", line));
          if (r.phone) box.append(" ", telLink(r.phone));
          if (r.conditions?.length) box.append(conditionTags(r.conditions));
          if (r.notes) box.append(el("p", t("detail.notes", { notes: r.notes })));
          return box;
        })
      : [el("p", t("detail.noresident"))]),
  );
  $("#address").textContent = home.address || t("detail.noaddress");
  const contacts = $("#contacts");
  contacts.replaceChildren(
    ...home.contacts.map((c) => {
      const item = el("li", `${c.rank}. ${c.responder.name}${c.relation ? ` (${c.relation})` : ""} `);
      if (c.responder.phone) item.append(telLink(c.responder.phone));
      return item;
    }),
  );
  if (!home.contacts.length) contacts.append(el("li", t("detail.none_yet")));
  const gateway =
    home.gateway_online === null ? "unknown" : home.gateway_online ? "online" : "offline";
  const devices = [el("li", t("detail.gateway", { state: t(`detail.${gateway}`) }))];
  for (const [id, device] of Object.entries(home.devices || {})) {
    const parts = [id];
    if (device && typeof device === "object") {
      if (device.room) parts.push(device.room);
      if (typeof device.battery === "number") parts.push(t("detail.battery", { value: device.battery }));
      if (device.battery_low) parts.push(t("detail.battery_low"));
      if (device.verdict) parts.push(device.verdict);
    }
    const item = el("li", parts.join(" · "));
    if (device?.battery_low || device?.verdict === "offline") item.className = "bad";
    devices.push(item);
  }
  if (devices.length === 1) devices.push(el("li", t("detail.nodevices")));
  $("#devices").replaceChildren(...devices);
}

function fillResponders() {
  const select = $("#dispatch-responder");
  const chosen = select.value;
  const detail = state.detail;
  const contacts = detail.home.error ? [] : detail.home.contacts.map((c) => c.responder);
  const others = detail.responders.filter((r) => !contacts.some((c) => c.id === r.id));
  const options = [...contacts, ...others].map((r) =>
    el("option", `${r.name} (${r.id})`, { value: r.id }),
  );
  select.replaceChildren(...options);
  if (chosen) select.value = chosen;
}

// --- actions ---------------------------------------------------------------------------------

function closeForms() {
  $("#dispatch-form").hidden = true;
  $("#resolve-form").hidden = true;
  $("#visit-form").hidden = true;
}

function reportError(err) {
  if (err instanceof ApiError) toast(t("error.http", { status: err.status }) + ` ${err.detail}`);
  else toast(t("error.network"));
}

async function act(label, path, body) {
  const id = state.selected;
  if (!id) return;
  try {
    const result = await call("POST", `/alerts/${id}/${path}`, body);
    upsert(result.alert);
    closeForms();
    renderQueue();
    toast(t("action.done", { action: t(label) }));
    if (state.alerts.has(id)) loadDetail(id);
  } catch (err) {
    if (err instanceof ApiError) toast(t("action.failed", { action: t(label), detail: err.detail }));
    else reportError(err);
  }
}

function acknowledge() {
  if (!$("#act-ack").disabled) act("action.acknowledge", "acknowledge");
}

function openDispatch() {
  if ($("#act-dispatch").disabled) return;
  closeForms();
  $("#dispatch-form").hidden = false;
  if (!$("#dispatch-responder").options.length) toast(t("dispatch.none"));
  $("#dispatch-responder").focus();
}

function escalate() {
  if (!$("#act-escalate").hidden && !$("#act-escalate").disabled) act("action.escalate", "escalate");
}

function openResolve() {
  if ($("#act-resolve").disabled) return;
  closeForms();
  $("#resolve-form").hidden = false;
  $("#resolve-outcome").focus();
}

function openVisit() {
  if ($("#act-visit").disabled || !state.detail) return;
  closeForms();
  if (!$("#visit-carer").value) $("#visit-carer").value = state.me?.username || "";
  $("#visit-form").hidden = false;
  $("#visit-note").focus();
}

/** Record a care visit at the selected alert's home: checked in now, until checked out. */
async function recordVisit() {
  const home = state.detail?.alert.home;
  if (!home) return;
  const carer = $("#visit-carer").value.trim();
  const note = $("#visit-note").value.trim();
  const label = "action.visit";
  try {
    await call("POST", `/homes/${home}/visits`, { ...(carer ? { carer } : {}), ...(note ? { note } : {}) });
    $("#visit-note").value = "";
    closeForms();
    toast(t("action.done", { action: t(label) }));
    if (state.selected) loadDetail(state.selected);
  } catch (err) {
    if (err instanceof ApiError) toast(t("action.failed", { action: t(label), detail: err.detail }));
    else reportError(err);
  }
}

async function endVisit(visit) {
  try {
    await call("POST", `/homes/${visit.home}/visits/${visit.id}/end`);
    toast(t("action.done", { action: t("visit.end") }));
    if (state.selected) loadDetail(state.selected);
  } catch (err) {
    if (err instanceof ApiError) toast(t("action.failed", { action: t("visit.end"), detail: err.detail }));
    else reportError(err);
  }
}

function fillOutcomes() {
  const select = $("#resolve-outcome");
  const chosen = select.value;
  select.replaceChildren(...OUTCOMES.map((o) => el("option", t(`outcome.${o}`), { value: o })));
  if (chosen) select.value = chosen;
}

function move(step) {
  const alerts = sortedAlerts();
  if (!alerts.length) return;
  const at = alerts.findIndex((a) => a.id === state.selected);
  const next = at < 0 ? 0 : Math.min(alerts.length - 1, Math.max(0, at + step));
  select(alerts[next].id);
}

function onKey(event) {
  if ($("#console-view").hidden || state.view !== "queue") return;
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  if (event.key === "Escape") return closeForms();
  const tag = event.target.tagName;
  if (tag === "INPUT" || tag === "SELECT" || tag === "TEXTAREA") return;
  unlockAudio();
  const actions = {
    a: acknowledge,
    d: openDispatch,
    e: escalate,
    r: openResolve,
    v: openVisit,
    j: () => move(1),
    k: () => move(-1),
  };
  const action = actions[event.key];
  if (!action) return;
  event.preventDefault();
  action();
}

// --- start -------------------------------------------------------------------------------------

async function changeLanguage(lang) {
  await setLanguage(lang);
  $("#lang").value = language();
  fillOutcomes();
  if (state.me) {
    $("#who").textContent = t("who", {
      name: state.me.display_name || state.me.username,
      role: t(`role.${state.me.role}`),
    });
  }
  setConnected($("#conn").dataset.state === "up");
  renderQueue();
  renderDetail();
  const board = BOARDS[state.view];
  if (board && state.boards[state.view]) board.render(state.boards[state.view]);
}

async function start() {
  await changeLanguage(savedLanguage());
  whenExpired(() => {
    closeStream();
    showLogin(true);
  });
  $("#login-form").addEventListener("submit", onLogin);
  $("#logout").addEventListener("click", logout);
  $("#lang").addEventListener("change", (e) => changeLanguage(e.target.value).catch(reportError));
  $("#act-ack").addEventListener("click", acknowledge);
  $("#act-dispatch").addEventListener("click", openDispatch);
  $("#act-escalate").addEventListener("click", escalate);
  $("#act-resolve").addEventListener("click", openResolve);
  $("#act-visit").addEventListener("click", openVisit);
  $("#visit-form").addEventListener("submit", (e) => {
    e.preventDefault();
    recordVisit();
  });
  for (const button of document.querySelectorAll("#nav button")) {
    button.addEventListener("click", () => showView(button.dataset.view));
  }
  $("#sla-window").addEventListener("change", () => refreshBoard());
  $("#dispatch-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const responder = $("#dispatch-responder").value;
    if (responder) act("action.dispatch", "dispatch", { responder_ids: [responder] });
  });
  $("#resolve-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const note = $("#resolve-note").value.trim();
    act("action.resolve", "resolve", { outcome: $("#resolve-outcome").value, ...(note ? { note } : {}) })
      .then(() => ($("#resolve-note").value = ""));
  });
  for (const button of document.querySelectorAll("form.sub .cancel")) button.addEventListener("click", closeForms);
  document.addEventListener("keydown", onKey);
  setInterval(tick, 1000);
  applyTo(document);
  document.body.dataset.ready = "true";
  if (token()) await enterConsole();
  else showLogin(false);
}

start().catch(reportError);
