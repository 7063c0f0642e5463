// The dashboard's entry point: tabs, the token box, start-up (finding whether reads need the
// token) and the live updates.

import { ApiError, access, failureText, setToken } from "./api.js";
import { initFiles } from "./files.js";
import { loadHealth } from "./health.js";
import { startLive } from "./live.js";
import { initRing, loadRing } from "./ring.js";
import { loadTransfers } from "./transfers.js";
import { initUpload } from "./upload.js";

let started = false;

function tabs() {
  return [...document.querySelectorAll('[role="tab"]')];
}

function select(tab) {
  for (const other of tabs()) {
    const chosen = other === tab;
    other.setAttribute("aria-selected", String(chosen));
    document.getElementById(other.getAttribute("aria-controls")).hidden = !chosen;
  }
  if (tab.id === "tab-health" && started) loadHealth();
}

// Tabs are buttons (Enter and Space activate them); arrows, Home and End move between them.
function initTabs() {
  const list = tabs();
  for (const tab of list) {
    tab.addEventListener("click", () => select(tab));
    tab.addEventListener("keydown", (event) => {
      const i = list.indexOf(tab);
      const next = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: list.length - 1 }[event.key];
      if (next === undefined) return;
      event.preventDefault();
      list[(next + list.length) % list.length].focus();
    });
  }
}

async function start() {
  const prompt = document.getElementById("token-prompt");
  try {
    await loadRing();
  } catch (error) {
    if (error instanceof ApiError && (error.status === 401 || error.status === 403)) {
      access.closedReads = true;
      prompt.hidden = false;
      prompt.textContent = error.status === 401
        ? "This node's reads need its API token: type it above and choose “Use token”."
        : `The token was refused: ${error.detail}`;
      document.getElementById("live-status").textContent = "Waiting for the API token";
      document.getElementById("token").focus();
      return;
    }
    document.getElementById("live-status").textContent = `Ring: ${failureText(error)}`;
    return;
  }
  prompt.hidden = true;
  started = true;
  loadTransfers();
  loadHealth();
  startLive(access.closedReads);
}

function init() {
  initTabs();
  initRing();
  initFiles();
  initUpload();
  document.getElementById("token-form").addEventListener("submit", (event) => {
    event.preventDefault();
    setToken(document.getElementById("token").value);
    if (!started) start();
  });
  start();
}

init();
