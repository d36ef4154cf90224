// Models page: the profile in use, each model with its size on disk, the space left, the API
// base URL to give an OpenAI client, and the names the API accepts (GET /v1/models).
import type { StatusSnapshot } from "../routes.ts";
import { formatBytes } from "../../models/progress.ts";
import { apiJson, friendly } from "./api.ts";
import { byId, h } from "./dom.ts";

export function renderModelsPage(s: StatusSnapshot) {
  const size = (id: string) => {
    const bytes = s.disk?.models[id];
    return bytes === undefined ? null : h("span", { class: "size" }, formatBytes(bytes));
  };
  const model = (id: string) => (id ? h("span", { class: "model" }, h("code", {}, id), size(id)) : "–");
  const rows: [string, Node | string][] = [
    ["Profile", h("code", {}, s.models.profile)],
    ["State", s.models.loaded ? "loaded" : "loading…"],
    ["Speech recognition", model(s.models.stt)],
    ["Language model", model(s.models.llm)],
    ["Voices", s.models.tts.length ? h("span", { class: "stack" }, ...s.models.tts.map(model)) : "–"],
    ["Voice activity", model(s.models.vad)],
  ];
  if (s.disk) {
    rows.push(["Models on disk", h("span", { id: "models-disk" }, formatBytes(s.disk.total))]);
    if (s.disk.free !== undefined) rows.push(["Free disk space", h("span", { id: "models-free" }, formatBytes(s.disk.free))]);
  }
  rows.push(["Memory in use", formatBytes(s.memory.rss)]);
  byId("models-list").replaceChildren(...rows.flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));
}

export function setupModelsPage() {
  const input = byId<HTMLInputElement>("models-base");
  input.value = `${location.origin}/v1`;
  byId("models-copy").addEventListener("click", async () => {
    const note = byId("models-copied");
    try {
      await navigator.clipboard.writeText(input.value);
    } catch {
      // no clipboard API on plain http: select the text and ask the browser to copy it
      input.focus();
      input.select();
      if (!document.execCommand("copy")) {
        note.textContent = "Selected: copy it with your keyboard or a long press.";
        return;
      }
    }
    note.textContent = "Copied.";
    setTimeout(() => (note.textContent = ""), 3000);
  });
}

export async function loadApiModelNames() {
  const models = byId("models-api");
  const roles = byId("models-roles");
  try {
    const list = await apiJson<{ data: { id: string }[] }>("/v1/models");
    const isRole = (id: string) => /^role:\d+$/.test(id);
    models.replaceChildren(...list.data.filter((m) => !isRole(m.id)).map((m) => h("li", {}, m.id)));
    const roleNames = list.data.filter((m) => isRole(m.id));
    roles.replaceChildren(...roleNames.map((m) => h("li", {}, m.id)));
    byId("models-roles-box").hidden = roleNames.length === 0;
  } catch (e) {
    models.replaceChildren(h("li", { class: "error" }, `Not available: ${friendly(e)}`));
  }
}
