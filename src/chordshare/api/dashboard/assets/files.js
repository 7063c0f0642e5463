// The Files view: the network's names found by words (the search route, or, on a node without
// it, the name listing filtered here), each content with its size, holders and a download link.

import { access, apiError, el, failureText, formatBytes, getJson, request, shortId } from "./api.js";

const PAGE = 50;
const DETAILS_LIMIT = 50; // names whose records the fallback reads, one request each
let searchRoute = true; // false once the node answered 404 to the search route
let shown = false;

function words(query) {
  return query.toLowerCase().split(/[^\p{L}\p{N}]+/u).filter((w) => w.length > 0);
}

function contentUrl(name, hash) {
  return `/api/v1/network/files/${encodeURIComponent(name)}/content?content_hash=${hash}`;
}

// A link that downloads; with closed reads it fetches with the token and saves a blob instead.
function downloadLink(name, variant) {
  const link = el("a", {
    href: contentUrl(name, variant.content_hash),
    download: name,
    class: "download",
    "data-hash": variant.content_hash,
    text: `Download ${name} (${shortId(variant.content_hash)}, ${formatBytes(variant.size)})`,
  });
  link.addEventListener("click", async (event) => {
    if (!access.closedReads || link.dataset.blob) return;
    event.preventDefault();
    const response = await request(link.href);
    if (!response.ok) {
      link.after(el("span", { class: "error", text: ` ${(await apiError(response)).detail}` }));
      return;
    }
    link.dataset.blob = "1";
    link.href = URL.createObjectURL(await response.blob());
    link.click();
  });
  return link;
}

function variantsTable(name, variants) {
  return el("table", {},
    el("caption", { text: `Contents of ${name}` }),
    el("thead", {}, el("tr", {},
      el("th", { scope: "col", text: "Content hash" }), el("th", { scope: "col", text: "Size" }),
      el("th", { scope: "col", text: "Holders" }), el("th", { scope: "col", text: "Download" }))),
    el("tbody", {}, ...variants.map((v) => el("tr", {},
      el("td", { class: "id", text: v.content_hash }),
      el("td", { text: formatBytes(v.size) }),
      el("td", { text: String(v.holders) }),
      el("td", {}, downloadLink(name, v))))));
}

function hit(name, variants) {
  return el("li", { "data-name": name },
    el("p", { class: "name", text: name }),
    variants ? variantsTable(name, variants) : el("p", { class: "muted", text: "contents not read" }));
}

// The search route: names with every word, each with its variants.
async function viaSearch(query) {
  const answer = await getJson(`/api/v1/network/search?q=${encodeURIComponent(query)}&offset=0&limit=${PAGE}`);
  const hits = answer.names.map((h) =>
    hit(h.name, h.variants.map((v) => ({ content_hash: v.content_hash, size: v.size, holders: v.providers }))));
  return { hits, total: answer.total };
}

// The listing, filtered here by the query's words, and each name's record.
async function viaListing(query) {
  const wanted = words(query);
  const names = [];
  let after = "";
  for (let page = 0; page < 10; page += 1) {
    const listing = await getJson(`/api/v1/network/files?limit=100${after ? `&after=${encodeURIComponent(after)}` : ""}`);
    names.push(...listing.names.filter((n) => wanted.every((w) => n.toLowerCase().includes(w))));
    if (!listing.next_after) break;
    after = listing.next_after;
  }
  const hits = await Promise.all(names.map(async (name, i) => {
    if (i >= DETAILS_LIMIT) return hit(name, null);
    try {
      const file = await getJson(`/api/v1/network/files/${encodeURIComponent(name)}`);
      return hit(name, file.records.map((r) => ({ content_hash: r.content_hash, size: r.size, holders: r.providers.length })));
    } catch {
      return hit(name, null);
    }
  }));
  return { hits, total: names.length };
}

export async function refreshFiles() {
  const query = document.getElementById("search-q").value.trim();
  const status = document.getElementById("search-status");
  status.textContent = "Searching…";
  let found;
  try {
    if (searchRoute && words(query).length > 0) {
      try {
        found = await viaSearch(query);
      } catch (error) {
        if (error.status !== 404) throw error;
        searchRoute = false; // a node without the search route: filter the listing instead
      }
    }
    found = found || (await viaListing(query));
  } catch (error) {
    status.textContent = `Search failed: ${failureText(error)}`;
    return;
  }
  shown = true;
  document.getElementById("file-results").replaceChildren(...found.hits);
  status.textContent = `${found.total} name${found.total === 1 ? "" : "s"} found`;
}

// After a record event: refresh what is shown, if anything is.
export function filesChanged() {
  if (shown) refreshFiles();
}

export function initFiles() {
  document.getElementById("search-form").addEventListener("submit", (event) => {
    event.preventDefault();
    refreshFiles();
  });
}
