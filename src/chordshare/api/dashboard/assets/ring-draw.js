// The ring as SVG: nodes on a circle by id (angle = id / 2^bits, clockwise from the top), this
// node's routing state as chords, and the path of the last lookup.

const SVG = "http://www.w3.org/2000/svg";
const RADIUS = 180;
const LABEL_LIMIT = 24; // more nodes than this and the id labels would overlap

function svg(tag, attrs = {}) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, String(value));
  return node;
}

// The point of ring id `hex` on a circle of radius r (BigInt: ids are up to 160 bits).
export function point(hex, bits, r = RADIUS) {
  const scaled = (BigInt(`0x${hex}`) << 32n) / (1n << BigInt(bits));
  const angle = (Number(scaled) / 2 ** 32) * 2 * Math.PI;
  return { x: r * Math.sin(angle), y: -r * Math.cos(angle) };
}

function chord(from, to, bits, cls) {
  const a = point(from, bits);
  const b = point(to, bits);
  // a slight bend toward the centre keeps chords between neighbours visible off the circle
  const c = { x: (a.x + b.x) * 0.35, y: (a.y + b.y) * 0.35 };
  return svg("path", { class: `chord ${cls}`, d: `M${a.x},${a.y} Q${c.x},${c.y} ${b.x},${b.y}` });
}

// Draw `ring` ({self, bits, nodes: Map id -> {peer, roles}, predecessor, successors, fingers})
// and `lookup` (null or the last lookup answer) into the svg element.
export function drawRing(target, ring, lookup) {
  for (const child of [...target.children]) {
    if (child.tagName !== "title" && child.tagName !== "desc") child.remove();
  }
  const { self, bits } = ring;
  target.append(svg("circle", { class: "ring-circle", cx: 0, cy: 0, r: RADIUS }));
  const chords = svg("g", { class: "chords" });
  for (const finger of ring.fingers) chords.append(chord(self, finger.peer.id, bits, "finger"));
  for (const succ of ring.successors) chords.append(chord(self, succ.id, bits, "succ"));
  if (ring.predecessor) chords.append(chord(self, ring.predecessor.id, bits, "pred"));
  target.append(chords);
  if (lookup) target.append(drawPath(ring, lookup));
  const labels = ring.nodes.size <= LABEL_LIMIT;
  for (const [id, known] of ring.nodes) {
    const at = point(id, bits);
    const classes = ["node", ...known.roles];
    if (lookup && lookup.owner.id === id) classes.push("owner");
    const group = svg("g", { class: classes.join(" "), "data-id": id });
    const title = svg("title");
    title.textContent = `${id} ${known.peer.grpc_address}`;
    group.append(title, svg("circle", { cx: at.x, cy: at.y, r: id === self ? 9 : 7 }));
    if (labels) {
      const out = point(id, bits, RADIUS + 24);
      const text = svg("text", { x: out.x, y: out.y + 4, "text-anchor": out.x < -5 ? "end" : out.x > 5 ? "start" : "middle" });
      text.textContent = id.slice(0, 8);
      group.append(text);
    }
    target.append(group);
  }
}

// This node -> each remote node asked, in order -> the owner, numbered by hop.
function drawPath(ring, lookup) {
  const group = svg("g", { class: "lookup" });
  const stops = [ring.self, ...lookup.path.map((p) => p.id)];
  if (stops[stops.length - 1] !== lookup.owner.id) stops.push(lookup.owner.id);
  const points = stops.map((id) => point(id, ring.bits, RADIUS - 14));
  group.append(svg("polyline", { class: "lookup-path", points: points.map((p) => `${p.x},${p.y}`).join(" ") }));
  lookup.path.forEach((peer, i) => {
    const at = point(peer.id, ring.bits, RADIUS - 34);
    const text = svg("text", { class: "hop-label", x: at.x, y: at.y + 4, "text-anchor": "middle" });
    text.textContent = String(i + 1);
    group.append(text);
  });
  return group;
}
