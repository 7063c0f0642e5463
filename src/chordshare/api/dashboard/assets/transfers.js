// The Transfers view: uploads, downloads, served streams and repairs of this node, read from
// /api/v1/transfers and then kept up to date by the transfer.* events.

import { el, failureText, formatBytes, formatRate, getJson, shortId } from "./api.js";

const transfers = new Map(); // id -> Transfer, in the order first seen

function row(t) {
  const total = t.bytes_total;
  const label = `${t.kind} ${t.name || t.content_hash || t.id}`;
  const bar = el("progress", { max: total || 1, value: total ? t.bytes_done : t.state === "done" ? 1 : 0, "aria-label": `${label} progress` });
  if (!total && t.state === "running") bar.removeAttribute("value"); // unknown size: indeterminate
  return el("tr", { "data-id": t.id, "data-state": t.state },
    el("td", { text: t.kind }),
    el("td", { text: t.name || shortId(t.content_hash || "") }),
    el("td", {}, bar, ` ${formatBytes(t.bytes_done)} of ${formatBytes(total)}`),
    el("td", { text: t.state === "running" ? formatRate(t.rate_bps) : "" }),
    el("td", { text: t.error ? `${t.state}: ${t.error}` : t.state }),
    el("td", { class: "id", text: t.peer ? shortId(t.peer.id || String(t.peer)) : "" }));
}

function render() {
  const list = [...transfers.values()];
  const running = list.filter((t) => t.state === "running");
  const rows = [...running, ...list.filter((t) => t.state !== "running").reverse()];
  document.querySelector("#transfers-table tbody").replaceChildren(...rows.map(row));
  document.getElementById("transfers-status").textContent =
    `${running.length} running, ${list.length - running.length} finished`;
}

export async function loadTransfers() {
  try {
    const answer = await getJson("/api/v1/transfers");
    for (const t of answer.transfers) merge(t);
    render();
  } catch (error) {
    document.getElementById("transfers-status").textContent = `Transfers: ${failureText(error)}`;
  }
}

// How far a transfer has got: a snapshot read before an event must not undo it.
function progress(t) {
  return (t.state === "running" ? 0 : Number.MAX_SAFE_INTEGER / 2) + (t.bytes_done || 0);
}

function merge(t) {
  const known = transfers.get(t.id);
  if (!known || progress(t) >= progress(known)) transfers.set(t.id, t);
}

// A transfer.started / .progress / .finished event: {"transfer": Transfer}.
export function transferEvent(data) {
  if (!data || !data.transfer) return;
  merge(data.transfer);
  // keep the last 50 finished, as the node does
  const finished = [...transfers.values()].filter((t) => t.state !== "running");
  for (const t of finished.slice(0, Math.max(0, finished.length - 50))) transfers.delete(t.id);
  render(); // progress events come at most ~4/s per transfer: redraw on each
}
