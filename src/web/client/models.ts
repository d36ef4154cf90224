// Models page: the profile in use, its model ids, and the names the OpenAI API accepts.
import type { StatusSnapshot } from "../routes.ts";
import { formatBytes } from "../../models/progress.ts";
import { apiJson } from "./api.ts";
import { byId, h } from "./dom.ts";

export function renderModelsPage(s: StatusSnapshot) {
  const rows: [string, string][] = [
    ["Profile", s.models.profile],
    ["State", s.models.loaded ? "loaded" : "loading…"],
    ["Speech recognition", s.models.stt || "–"],
    ["Language model", s.models.llm || "–"],
    ["Voices", s.models.tts.join(", ") || "–"],
    ["Voice activity", s.models.vad || "–"],
    ["Memory in use", formatBytes(s.memory.rss)],
  ];
  byId("models-list").replaceChildren(...rows.flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));
}

export async function loadApiModelNames() {
  const list = byId("models-api");
  try {
    const models = await apiJson<{ data: { id: string }[] }>("/v1/models");
    list.replaceChildren(...models.data.map((m) => h("li", {}, m.id)));
  } catch (e) {
    list.replaceChildren(h("li", {}, `unavailable: ${(e as Error).message}`));
  }
}
