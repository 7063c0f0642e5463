// The Ring view: every node this node knows (its ring walk, its peers, itself), its routing
// state, and key lookups drawn on the ring.

import { el, failureText, getJson, shortId } from "./api.js";
import { drawRing } from "./ring-draw.js";

let ring = null;
let lastLookup = null;

function roleNames(roles) {
  const names = { self: "this node", pred: "predecessor", succ: "successor", finger: "finger" };
  return roles.map((r) => names[r]).join(", ") || "known";
}

// The union of what /node, /ring and /peers name, minus the walk's unreachable nodes.
function collect(node, walk, peers) {
  const nodes = new Map();
  const add = (peer, role) => {
    if (!peer) return;
    const known = nodes.get(peer.id) || { peer, roles: [] };
    if (role && !known.roles.includes(role)) known.roles.push(role);
    nodes.set(peer.id, known);
  };
  add({ id: node.id, grpc_address: node.grpc_address, http_url: node.http_url }, "self");
  for (const p of walk ? walk.nodes : []) add(p, null);
  for (const p of peers ? peers.peers : []) add(p, null);
  add(node.predecessor, "pred");
  for (const p of node.successors) add(p, "succ");
  for (const f of node.fingers) add(f.peer, "finger");
  const unreachable = new Set((walk ? walk.unreachable : []).map((p) => p.id));
  for (const id of unreachable) if (id !== node.id) nodes.delete(id);
  const sorted = [...nodes.entries()].sort(([a], [b]) => (BigInt(`0x${a}`) < BigInt(`0x${b}`) ? -1 : 1));
  return new Map(sorted);
}

export async function loadRing() {
  const node = await getJson("/api/v1/node");
  const [walk, peers] = await Promise.all([
    getJson("/api/v1/ring").catch(() => null),
    getJson("/api/v1/peers").catch(() => null),
  ]);
  ring = {
    self: node.id,
    bits: node.ring_bits,
    nodes: collect(node, walk, peers),
    predecessor: node.predecessor,
    successors: node.successors,
    fingers: node.fingers,
  };
  document.getElementById("node-label").textContent = `node ${shortId(node.id)} (${node.grpc_address})`;
  render();
  return node;
}

function render() {
  drawRing(document.getElementById("ring-svg"), ring, lastLookup);
  const body = document.querySelector("#ring-nodes tbody");
  body.replaceChildren(
    ...[...ring.nodes.values()].map((k) =>
      el("tr", { "data-id": k.peer.id },
        el("td", { class: "id", text: k.peer.id }),
        el("td", { text: k.peer.grpc_address }),
        el("td", { text: roleNames(k.roles) })),
    ),
  );
  document.getElementById("ring-count").textContent = String(ring.nodes.size);
}

function showLookup(answer) {
  const out = document.getElementById("lookup-result");
  const path = el("ol", { id: "lookup-path" },
    ...answer.path.map((p) => el("li", { class: "id", text: `${p.id} (${p.grpc_address})` })));
  out.replaceChildren(
    el("dl", { class: "figures" },
      el("dt", { text: "Key id" }), el("dd", { class: "id", text: answer.key_id }),
      el("dt", { text: "Owner" }), el("dd", { class: "id", id: "lookup-owner-id", text: answer.owner.id }),
      el("dt", { text: "Owner address" }),
      el("dd", { id: "lookup-owner-address", text: `${answer.owner.grpc_address} ${answer.owner.http_url}` }),
      el("dt", { text: "Hops" }), el("dd", { id: "lookup-hops", text: String(answer.hops) }),
      el("dt", { text: "Path" }), el("dd", {}, answer.path.length ? path : "answered by this node")),
  );
}

export function initRing() {
  document.getElementById("lookup-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const key = document.getElementById("lookup-key").value;
    const out = document.getElementById("lookup-result");
    out.textContent = "Looking up…";
    try {
      // the query form carries every key, "." and ".." included
      lastLookup = await getJson(`/api/v1/lookup?key=${encodeURIComponent(key)}&routed=true`);
      for (const p of [...lastLookup.path, lastLookup.owner]) {
        if (ring && !ring.nodes.has(p.id)) ring.nodes.set(p.id, { peer: p, roles: [] });
      }
      showLookup(lastLookup);
      if (ring) render();
    } catch (error) {
      out.replaceChildren(el("p", { class: "error", text: `Lookup failed: ${failureText(error)}` }));
    }
  });
}
