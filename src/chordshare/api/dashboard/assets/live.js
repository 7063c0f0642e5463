// Live updates: the node's event stream (/api/v1/events), or polling when it cannot be used.
//
// The EventSource API cannot send headers, so on a node with closed reads (the token is
// needed, and it must never go into a URL) the page polls the JSON routes every 2 s with fetch
// and the Authorization header instead. It polls too when the node has no event stream (an
// older node answers 404, which closes the EventSource).

import { loadHealth } from "./health.js";
import { loadTransfers, transferEvent } from "./transfers.js";
import { filesChanged } from "./files.js";
import { loadRing } from "./ring.js";
import { debounce } from "./api.js";

const POLL_MS = 2000;
const RING_SAFETY_MS = 15000; // a ring re-read even without events: a missed one heals
const TRANSFERS_SAFETY_MS = 2000; // the same for the transfers, while their view is shown
const KINDS = ["ring.successor", "ring.predecessor", "ring.finger", "peer.seen", "peer.dead",
  "node.leaving", "record.added", "record.removed", "transfer.started", "transfer.progress",
  "transfer.finished", "repair"];

const reloadRing = debounce(() => loadRing().catch(() => {}), 300);
const reloadFiles = debounce(filesChanged, 500);
const reloadHealth = debounce(loadHealth, 1000);

function say(text) {
  document.getElementById("live-status").textContent = text;
}

let received = 0; // events taken from the stream, shown as data-events on the status line

function onEvent(kind, data) {
  document.getElementById("live-status").dataset.events = String(++received);
  if (kind.startsWith("ring.") || kind.startsWith("peer.") || kind === "node.leaving") reloadRing();
  else if (kind.startsWith("transfer.")) transferEvent(data);
  else if (kind.startsWith("record.")) reloadFiles();
  reloadHealth();
}

function poll() {
  say("Live: polling every 2 s");
  const tick = () => Promise.allSettled([loadRing(), loadTransfers(), loadHealth()]);
  setInterval(tick, POLL_MS);
}

export function startLive(closedReads) {
  if (closedReads || typeof EventSource === "undefined") {
    poll();
    return;
  }
  connect();
  setInterval(reloadRing, RING_SAFETY_MS);
  setInterval(() => {
    if (!document.getElementById("view-transfers").hidden) loadTransfers();
  }, TRANSFERS_SAFETY_MS);
  setInterval(loadHealth, 5000);
}

function connect() {
  const source = new EventSource("/api/v1/events");
  let opened = false;
  source.addEventListener("open", () => {
    opened = true;
    say("Live: event stream");
    // events missed while (re)connecting: read everything once
    reloadRing();
    loadTransfers();
  });
  source.addEventListener("error", () => {
    if (source.readyState === EventSource.CLOSED) {
      source.close();
      if (!opened) poll(); // never opened: no stream on this node
      else setTimeout(connect, POLL_MS); // the node ended a stream it served: a fresh one
    } else {
      say("Live: reconnecting to the event stream…");
    }
  });
  for (const kind of KINDS) {
    source.addEventListener(kind, (message) => {
      let body = null;
      try {
        body = JSON.parse(message.data);
      } catch {
        return;
      }
      onEvent(kind, body.data);
    });
  }
}
