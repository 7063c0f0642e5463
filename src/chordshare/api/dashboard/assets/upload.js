// The upload form: the file's bytes PUT as the request body (application/octet-stream, as the
// node wants; a form content type is refused) with the token typed by the user.

import { apiError, el, formatBytes, request, shortId } from "./api.js";
import { filesChanged } from "./files.js";

export function initUpload() {
  const picker = document.getElementById("upload-file");
  const nameBox = document.getElementById("upload-name");
  const status = document.getElementById("upload-status");
  picker.addEventListener("change", () => {
    if (picker.files.length && !nameBox.value) nameBox.value = picker.files[0].name;
  });
  document.getElementById("upload-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const file = picker.files[0];
    const name = nameBox.value.trim() || (file ? file.name : "");
    if (!file || !name) {
      status.replaceChildren(el("span", { class: "error", text: "Choose a file (and a name) first." }));
      return;
    }
    status.textContent = `Uploading ${name} (${formatBytes(file.size)})…`;
    const response = await request(`/api/v1/network/files/${encodeURIComponent(name)}`, {
      method: "PUT",
      body: file,
      headers: { "Content-Type": "application/octet-stream" },
    }).catch((error) => error);
    if (response instanceof Error) {
      status.replaceChildren(el("span", { class: "error", text: `Upload failed: ${response.message}` }));
      return;
    }
    if (!response.ok) {
      const error = await apiError(response);
      status.replaceChildren(el("span", { class: "error", "data-status": error.status, text: `Upload refused (${error.status}): ${error.detail}` }));
      return;
    }
    const answer = await response.json();
    status.replaceChildren(el("span", { class: "ok", "data-status": response.status,
      text: `Uploaded ${answer.record.name} (${shortId(answer.record.content_hash)}) to ${answer.holders.length} holders` }));
    filesChanged();
  });
}
