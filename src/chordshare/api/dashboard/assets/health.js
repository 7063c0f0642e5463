// The Health view: /api/v1/status (uptime, ring size estimate, holdings, RPC figures).

import { el, failureText, formatBytes, getJson } from "./api.js";

function uptime(seconds) {
  const s = Math.floor(seconds);
  const parts = [[Math.floor(s / 86400), "d"], [Math.floor(s / 3600) % 24, "h"], [Math.floor(s / 60) % 60, "m"], [s % 60, "s"]];
  return parts.filter(([n], i) => n > 0 || i === 3).map(([n, u]) => `${n} ${u}`).join(" ");
}

export async function loadHealth() {
  const status = document.getElementById("health-status");
  let answer;
  try {
    answer = await getJson("/api/v1/status");
  } catch (error) {
    status.textContent = `Health: ${failureText(error)}`;
    return;
  }
  const rpc = answer.rpc || {};
  const figures = [
    ["Node id", answer.id],
    ["Uptime", uptime(answer.uptime_s)],
    ["Ring size estimate", `${answer.estimated_nodes} nodes`],
    ["Key range", answer.range ? `(${answer.range.start}, ${answer.range.end}]` : "?"],
    ["Records held", String(answer.records)],
    ["Bytes held", formatBytes(answer.bytes_held)],
    ["Pinned / cached", `${formatBytes(answer.pinned_bytes)} / ${formatBytes(answer.cached_bytes)}`],
    ["Transfers running", String(answer.transfers_running)],
    ["RPC calls", `${rpc.calls} (${(rpc.calls_per_s || 0).toFixed(1)}/s)`],
    ["RPC errors", `${rpc.errors} (${(rpc.errors_per_s || 0).toFixed(1)}/s)`],
  ];
  document.getElementById("health-figures").replaceChildren(
    ...figures.flatMap(([name, value]) => [el("dt", { text: name }), el("dd", { class: name === "Node id" || name === "Key range" ? "id" : null, text: value })]));
  document.getElementById("health-warnings").replaceChildren(
    ...(answer.warnings || []).map((w) => el("li", { class: "error", text: String(w) })));
  status.textContent = `Updated ${new Date().toLocaleTimeString()}`;
}
