// The backend's API: the access token lives in sessionStorage; a 401 parks the request
// until the operator has signed in again, then sends it once more.
const BASE = "/api/v1";
const TOKEN_KEY = "homecare.token";

export class ApiError extends Error {
  constructor(status, detail) {
    super(detail);
    this.status = status;
    this.detail = detail;
  }
}

let onExpired = () => {};
const parked = [];

export function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

/** Call `handler` when the session ends; requests wait until `signIn` succeeds. */
export function whenExpired(handler) {
  onExpired = handler;
}

export async function signIn(username, password) {
  const body = new URLSearchParams({ username, password });
  const response = await fetch(`${BASE}/auth/token`, { method: "POST", body });
  if (!response.ok) throw new ApiError(response.status, await problemDetail(response));
  const doc = await response.json();
  sessionStorage.setItem(TOKEN_KEY, doc.access_token);
  for (const resume of parked.splice(0)) resume();
  return doc;
}

/** Forget a token the backend refused, keeping the requests that wait for a new one. */
export function forgetToken() {
  sessionStorage.removeItem(TOKEN_KEY);
}

export function signOut() {
  sessionStorage.removeItem(TOKEN_KEY);
  parked.splice(0);
}

async function problemDetail(response) {
  try {
    const doc = await response.json();
    return doc.detail || doc.title || `HTTP ${response.status}`;
  } catch {
    return `HTTP ${response.status}`;
  }
}

/** Send a request; resolve with its JSON body, or reject with an ApiError. */
export async function call(method, path, body) {
  for (;;) {
    const headers = { Authorization: `Bearer ${token() || ""}` };
    const init = { method, headers };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const response = await fetch(`${BASE}${path}`, init);
    if (response.status === 401) {
      forgetToken();
      await new Promise((resume) => {
        parked.push(resume);
        onExpired();
      });
      continue;
    }
    if (!response.ok) throw new ApiError(response.status, await problemDetail(response));
    if (response.status === 204) return null;
    return response.json();
  }
}

/** Open the alert stream, offering the token as a subprotocol (browsers send no headers). */
export function openStream() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  return new WebSocket(`${scheme}://${location.host}${BASE}/stream`, ["bearer", token() || ""]);
}
