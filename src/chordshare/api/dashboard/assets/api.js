// The node's REST API as the page uses it: one fetch wrapper that adds the token (always as an
// Authorization header, never in a URL), errors carrying the node's own message, and small
// formatting and DOM helpers shared by the views.

let token = "";

export function setToken(value) {
  token = value.trim();
}

export function hasToken() {
  return token !== "";
}

export function authHeaders() {
  return token ? { Authorization: `Bearer ${token}` } : {};
}

export const NOT_AVAILABLE = "not available on this node";

export class ApiError extends Error {
  constructor(status, detail) {
    super(`${status}: ${detail}`);
    this.status = status;
    this.detail = detail;
  }
}

// An ApiError from a failed response: the node answers errors as {"detail", "error"}.
export async function apiError(response) {
  let detail = response.statusText || "request failed";
  try {
    const body = await response.json();
    if (body && typeof body.detail === "string") detail = body.detail;
  } catch {
    // not JSON: keep the status text
  }
  return new ApiError(response.status, detail);
}

export async function request(path, options = {}) {
  const headers = { ...authHeaders(), ...(options.headers || {}) };
  return fetch(path, { cache: "no-store", ...options, headers });
}

export async function getJson(path) {
  const response = await request(path);
  if (!response.ok) throw await apiError(response);
  return response.json();
}

// The text to show for a failed read: a missing route is a feature this node lacks.
export function failureText(error) {
  if (error instanceof ApiError && error.status === 404) return NOT_AVAILABLE;
  if (error instanceof ApiError) return `error ${error.status}: ${error.detail}`;
  return `error: ${error.message}`;
}

// el("td", {class: "id"}, "text", child...): an element with attributes and children.
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "text") node.textContent = value;
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children) {
    if (child !== null && child !== undefined) node.append(child);
  }
  return node;
}

export function formatBytes(n) {
  if (n === null || n === undefined) return "?";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${n} B` : `${value.toFixed(1)} ${units[unit]}`;
}

export function formatRate(bps) {
  return `${formatBytes(Math.round(bps || 0))}/s`;
}

export function shortId(hex) {
  return hex.length > 12 ? `${hex.slice(0, 8)}…` : hex;
}

// Run fn at most once per `wait` ms, after the last call (event bursts become one reload).
export function debounce(fn, wait) {
  let timer = null;
  return () => {
    clearTimeout(timer);
    timer = setTimeout(fn, wait);
  };
}

// Whether this node closes reads (found at start-up): links then cannot carry the token, so
// downloads go through fetch with the header.
export const access = { closedReads: false };
