// Status page: readiness, models, memory, uptime, the toys, and recent turns per toy.
import type { ToyStatus, TurnRecord } from "../../pipeline/types.ts";
import type { StatusSnapshot } from "../routes.ts";
import { formatBytes } from "../../models/progress.ts";
import { apiJson } from "./api.ts";
import { byId, formatAgo, formatDuration, formatMs, formatTime, h } from "./dom.ts";

/** Finished turns never change, so each is built once and kept (an <audio> being played survives refreshes). */
const turnElements = new Map<string, HTMLElement>();
let shownTurnIds = "";

export async function refreshStatusPage(status: StatusSnapshot) {
  const [toys, turns] = await Promise.all([
    apiJson<{ data: ToyStatus[] }>("/api/toys"),
    apiJson<{ data: TurnRecord[] }>("/api/turns?limit=50"),
  ]);
  renderCards(status, toys.data);
  renderToys(toys.data);
  renderTurns(turns.data);
}

function card(label: string, value: string, sub = "", id = "") {
  return h("div", { class: "card", id: id || null }, h("div", { class: "label" }, label), h("div", { class: "value" }, value), sub ? h("div", { class: "sub" }, sub) : null);
}

function renderCards(s: StatusSnapshot, toys: ToyStatus[]) {
  const connected = toys.filter((t) => t.connected).length;
  byId("status-cards").replaceChildren(
    card("State", s.ready ? "Ready" : "Starting", s.ready ? "" : s.reasons.join(", "), "card-state"),
    card("Models", s.models.profile, s.models.loaded ? "loaded" : "loading…", "card-models"),
    card("Memory", formatBytes(s.memory.rss), "resident", "card-memory"),
    card("Up for", formatDuration(s.uptimeSeconds), "", "card-uptime"),
    card("Toys", String(connected), `connected, ${toys.length} known`, "card-toys"),
  );
}

function renderToys(toys: ToyStatus[]) {
  const box = byId("toys");
  if (toys.length === 0) {
    box.replaceChildren(h("p", { class: "muted" }, "No toy has connected yet. Point a toy's MQTT setting at this Pi (port 1883)."));
    return;
  }
  const sorted = [...toys].sort((a, b) => Number(b.connected) - Number(a.connected) || b.lastSeen - a.lastSeen);
  box.replaceChildren(
    ...sorted.map((t) => {
      const facts: [string, string][] = [
        ["Role", String(t.role)],
        ["Battery", t.battery === null || t.battery === undefined ? "–" : `${t.battery}%`],
        ["Last seen", t.connected ? `online, ${formatAgo(t.lastSeen)}` : formatAgo(t.lastSeen)],
      ];
      if (t.firmware) facts.push(["Firmware", t.firmware]);
      if (t.address) facts.push(["Address", t.address]);
      return h(
        "dl",
        { class: "toy", "data-sn": t.sn },
        h("div", { class: "sn" }, h("span", { class: t.connected ? "dot on" : "dot", title: t.connected ? "connected" : "offline" }), t.sn),
        ...facts.flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]),
      );
    }),
  );
}

function groupName(t: TurnRecord): string {
  if (t.sn) return t.sn;
  return t.source === "web" ? "Web console" : "API clients";
}

function renderTurns(turns: TurnRecord[]) {
  const ids = turns.map((t) => t.id).join(",");
  if (ids === shownTurnIds) return;
  shownTurnIds = ids;
  const box = byId("turns");
  if (turns.length === 0) {
    box.replaceChildren(h("p", { class: "muted" }, "No conversation yet."));
    return;
  }
  const groups = new Map<string, TurnRecord[]>();
  for (const t of [...turns].sort((a, b) => b.at - a.at)) {
    const name = groupName(t);
    groups.set(name, [...(groups.get(name) ?? []), t]);
  }
  const keep = new Set(turns.map((t) => t.id));
  for (const id of turnElements.keys()) if (!keep.has(id)) turnElements.delete(id);
  box.replaceChildren(
    ...[...groups].map(([name, list]) =>
      h(
        "div",
        { class: "group", "data-group": name },
        h("h3", {}, name),
        ...list.map((t) => {
          let el = turnElements.get(t.id);
          if (!el) turnElements.set(t.id, (el = renderTurn(t)));
          return el;
        }),
      ),
    ),
  );
}

function renderTurn(t: TurnRecord): HTMLElement {
  const timings = [
    ["STT", t.timings.sttMs],
    ["first token", t.timings.firstTokenMs],
    ["first audio", t.timings.firstAudioMs],
    ["total", t.timings.totalMs],
  ].filter(([, v]) => v !== undefined) as [string, number][];
  return h(
    "article",
    { class: "turn", "data-turn": t.id },
    h("div", { class: "meta" }, [formatTime(t.at), t.role ? `role ${t.role}` : "", t.source].filter(Boolean).join(" · ")),
    h("p", { class: "said" }, t.transcript || "(nothing heard)"),
    t.sentences.length
      ? h(
          "ol",
          { class: "sentences" },
          ...t.sentences.map((s) =>
            h("li", {}, h("span", {}, s.text), s.url ? h("audio", { controls: true, preload: "none", src: s.url }) : h("small", { class: "muted" }, "audio expired")),
          ),
        )
      : h("p", { class: "reply" }, t.reply),
    t.error ? h("p", { class: "error" }, `Error: ${t.error}`) : null,
    timings.length ? h("ul", { class: "timings" }, ...timings.map(([k, v]) => h("li", {}, `${k} ${formatMs(v)}`))) : null,
  );
}
