// The operator console: sign-in, the live alert queue, an alert's detail and its actions.
import { ApiError, call, forgetToken, openStream, signIn, signOut, token, whenExpired } from "./api.js";
import { applyTo, formatTime, language, savedLanguage, setLanguage, t } from "./i18n.js";

const ACK_TARGET_S = 60;
const ACT_TARGET_S = 180;
const DAY_MS = 24 * 3600 * 1000;
const ALARMS = new Set(["sos", "fall", "smoke", "gas"]);
const LIVE = ["open", "acknowledged", "dispatched"];
const OUTCOMES = ["false_alarm", "resident_ok_after_call", "genuine_emergency", "device_fault", "test"];
const $ = (selector) => document.querySelector(selector);

const state = {
  me: null,
  alerts: new Map(), // id -> alert (AlertOut)
  selected: null, // alert id
  detail: null, // { alert, home, responders }
  socket: null,
  retryMs: 500,
  loaded: false,
  audio: null,
};

// --- small DOM helpers ---------------------------------------------------------------

function el(tag, text, attrs = {}) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = text;
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  return node;
}

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
  $("#act-escalate").hidden = state.me.role === "operator";
  $("#login-view").hidden = true;
  $("#console-view").hidden = false;
  $("#shortcuts").hidden = false;
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
    $("#shortcuts").hidden = false;
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
  renderQueue();
  renderDetail();
  showLogin(false);
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
  const pages = await Promise.all(
    LIVE.map((status) => call("GET", `/alerts?status=${status}&limit=1000`)),
  );
  const fresh = new Map();
  for (const page of pages) for (const alert of page.items) fresh.set(alert.id, alert);
  const firstLoad = !state.loaded;
  for (const alert of fresh.values()) {
    const isNew = !state.alerts.has(alert.id);
    const known = state.alerts.get(alert.id);
    if (!known || known.version <= alert.version) state.alerts.set(alert.id, alert);
    if (isNew && !firstLoad && alert.priority === 1 && alert.status === "open") cue(alert.id);
  }
  for (const id of [...state.alerts.keys()]) if (!fresh.has(id)) state.alerts.delete(id);
  state.loaded = true;
  renderQueue();
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
  const isNew = !state.alerts.has(alert.id);
  if (!upsert(alert)) return;
  renderQueue();
  if (message.change === "opened" && isNew && alert.priority === 1) cue(alert.id);
  if (alert.id === state.selected) loadDetail(alert.id);
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
  const [home, responders, events] = await Promise.all([
    call("GET", `/homes/${alert.home}`).catch((err) => ({ error: err })),
    call("GET", "/responders?active=true&limit=200").catch(() => ({ items: [] })),
    call("GET", `/homes/${alert.home}/events?since=${since}&limit=1000`).catch(() => ({ items: [] })),
  ]);
  if (seq !== detailSeq || state.selected !== id) return;
  state.detail = { alert, home, responders: responders.items || [], events: events.items || [] };
  renderDetail();
}

function renderDetail() {
  const detail = state.detail;
  const show = Boolean(state.selected && detail && detail.alert.id === state.selected);
  $("#detail").hidden = !show;
  $("#detail-none").hidden = show;
  if (!show) return;
  const { alert, home } = detail;
  $("#detail").dataset.id = alert.id;
  $("#detail").dataset.status = alert.status;
  $("#detail-title").textContent = t("detail.title", { kind: t(`kind.${alert.kind}`), home: alert.home });
  $("#detail-state").textContent = t("detail.state", {
    opened: formatTime(alert.opened_at),
    status: t(`status.${alert.status}`),
    level: alert.escalation_level,
  });
  const live = alert.status !== "resolved";
  $("#act-ack").disabled = alert.status !== "open";
  $("#act-dispatch").disabled = !live;
  $("#act-escalate").disabled = !live;
  $("#act-resolve").disabled = !live;
  renderHome(home);
  renderRooms(detail.events, alert);
  fill($("#timeline"), alert.transitions, (tr) =>
    el("li", t("timeline.entry", {
      at: formatTime(tr.at),
      actor: tr.actor,
      action: tr.action ? tOr(`taction.${tr.action.split(":")[0]}`, tr.action) : "",
      status: t(`status.${tr.to_status}`),
    })),
  );
  fill($("#dispatches"), alert.dispatches, (d) =>
    el("li", t("dispatch.entry", {
      responder: responderName(d.responder_id),
      status: t(`dstatus.${d.status}`),
      at: formatTime(d.created_at),
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

/** The message `key`, or `fallback` where the catalog has none (a value newer than it). */
function tOr(key, fallback) {
  const text = t(key);
  return text === key ? fallback : text;
}

function svg(tag, attrs = {}, text) {
  const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

/** Rooms over the last 24 h: one row per room, one mark per event seen there. */
function renderRooms(events, alert) {
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
  const hour = new Intl.DateTimeFormat(language(), { hour: "2-digit", minute: "2-digit" });
  for (let h = 0; h <= 24; h += 6) {
    const at = start + h * 3600 * 1000;
    const label = { x: x(new Date(at).toISOString()), y: height - 4, "text-anchor": "middle" };
    nodes.push(svg("text", label, hour.format(at)));
  }
  for (const e of placed) {
    const y = rooms.indexOf(e.room) * rowH + 4;
    const mark = svg("rect", { class: `event${ALARMS.has(e.type) ? " alarm" : ""}`, x: x(e.at) - 1, y, width: 3, height: rowH - 8 });
    mark.append(svg("title", {}, `${formatTime(e.at)} · ${e.room} · ${e.type}`));
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

function telLink(phone) {
  return el("a", phone, { href: `tel:${phone.replace(/[^+\d]/g, "")}` });
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
  $("#resolve-form").hidden = true;
  $("#dispatch-form").hidden = false;
  if (!$("#dispatch-responder").options.length) toast(t("dispatch.none"));
  $("#dispatch-responder").focus();
}

function escalate() {
  if (!$("#act-escalate").hidden && !$("#act-escalate").disabled) act("action.escalate", "escalate");
}

function openResolve() {
  if ($("#act-resolve").disabled) return;
  $("#dispatch-form").hidden = true;
  $("#resolve-form").hidden = false;
  $("#resolve-outcome").focus();
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
  if ($("#console-view").hidden || event.ctrlKey || event.metaKey || event.altKey) return;
  if (event.key === "Escape") return closeForms();
  const tag = event.target.tagName;
  if (tag === "INPUT" || tag === "SELECT" || tag === "TEXTAREA") return;
  unlockAudio();
  const actions = { a: acknowledge, d: openDispatch, e: escalate, r: openResolve, j: () => move(1), k: () => move(-1) };
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
