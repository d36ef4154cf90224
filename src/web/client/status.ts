// Status page: readiness, models (and their download while Hearth starts: model-fetch.ts), memory,
// uptime, where to point a toy (this page's own host with the ports Hearth listens on) and how,
// xiaozhi devices waiting for approval (pairing-approval.ts), the toys, and the recent turns per
// conversation.
import type { ConsoleToy, DeviceControlsView, StatusSnapshot } from "../routes.ts";
import { formatBytes } from "../../models/progress.ts";
import { apiJson } from "./api.ts";
import { PAUSED } from "./controls.ts";
import { byId, formatDuration, formatLastSeen, formatTime, h } from "./dom.ts";
import { renderModelFetch } from "./model-fetch.ts";
import { refreshWaitingDevices } from "./pairing-approval.ts";
import { roleFact } from "./role-switch.ts";
import { conversationTitle, deviceOf, historyHref, TurnList, type Turn } from "./turns.ts";

const turnList = new TurnList("turns");
let pairingShown = false;
let pairingSignature = "";

export async function refreshStatusPage(status: StatusSnapshot) {
  const [toys, turns] = await Promise.all([apiJson<{ data: ConsoleToy[] }>("/api/toys"), apiJson<{ data: Turn[] }>("/api/turns?limit=50")]);
  byId("page-status").classList.remove("stale");
  byId("stale-note").hidden = true;
  renderCards(status, toys.data);
  renderModelFetch(status.modelFetch);
  renderPairing(status, toys.data.length);
  await refreshWaitingDevices();
  const paused = await pausedToys(toys.data);
  renderToys(toys.data, paused);
  const nicknames = new Map(toys.data.map((t) => [`${t.frontEnd ?? "folotoy"}/${t.sn}`, t.nickname]));
  turnList.render(turns.data, "No conversation yet.", (t) => {
    const { frontEnd, device } = deviceOf(t);
    const id = `${frontEnd}/${device}`;
    return { id, title: h("a", { href: historyHref(frontEnd, device) }, ...conversationTitle(frontEnd, device, nicknames.get(id))) };
  });
}

/** Why each toy would not talk right now, for those that would not (one small request per toy). */
async function pausedToys(toys: ConsoleToy[]): Promise<Map<string, DeviceControlsView>> {
  const views = await Promise.all(
    toys.map((t) =>
      apiJson<DeviceControlsView>(`/api/devices/${encodeURIComponent(t.frontEnd ?? "folotoy")}/${encodeURIComponent(t.sn)}/controls`)
        .then((v) => [t.sn, v] as const)
        .catch(() => null),
    ),
  );
  return new Map(views.filter((v): v is readonly [string, DeviceControlsView] => !!v?.[1].paused));
}

/** Hearth did not answer: the cards stop claiming anything is ready, the rest is marked as what was last reported. */
export function showStatusOffline(lastContact: number | null) {
  byId("page-status").classList.add("stale");
  const since = lastContact ? `Last answer at ${formatTime(lastContact)}. ` : "";
  byId("status-cards").replaceChildren(card("State", "Cannot reach Hearth", `${since}Trying again every few seconds…`, "card-state", "bad"));
  const note = byId("stale-note");
  note.hidden = !lastContact;
  note.textContent = lastContact ? `Below is what Hearth reported at ${formatTime(lastContact)}.` : "";
}

function card(label: string, value: string, sub = "", id = "", kind = "") {
  return h(
    "div",
    { class: `card${kind ? ` ${kind}` : ""}`, id: id || null },
    h("div", { class: "label" }, label),
    h("div", { class: "value" }, value),
    sub ? h("div", { class: "sub" }, sub) : null,
  );
}

function renderCards(s: StatusSnapshot, toys: ConsoleToy[]) {
  const connected = toys.filter((t) => t.connected).length;
  byId("status-cards").replaceChildren(
    card("State", s.ready ? "Ready" : "Starting", s.ready ? "" : s.reasons.join(", "), "card-state", s.ready ? "ok" : "bad"),
    card("Models", s.models.profile, s.models.loaded ? "loaded" : modelsState(s), "card-models", s.modelFetch?.state === "failed" ? "bad" : ""),
    card("Memory", formatBytes(s.memory.rss), "resident", "card-memory"),
    card("Up for", formatDuration(s.uptimeSeconds), "", "card-uptime"),
    card("Toys", String(connected), `connected, ${toys.length} known`, "card-toys"),
    ...Object.entries(s.upstreams ?? {}).map(([engine, servers]) => upstreamCard(engine, servers)),
  );
}

/** "loading…", or how far the fetch is while models are fetched. */
function modelsState(s: StatusSnapshot): string {
  const fetch = s.modelFetch;
  if (!fetch || fetch.state === "done") return "loading…";
  if (fetch.state === "failed") return "could not be fetched";
  const total = fetch.files.reduce((n, f) => n + (f.total ?? 0), 0);
  const done = fetch.files.reduce((n, f) => n + Math.min(f.done, f.total ?? f.done), 0);
  return total ? `fetching, ${Math.floor((done / total) * 100)}%` : "fetching…";
}

/** An engine that runs on other machines: how many of its servers are up, and each one's state. */
function upstreamCard(engine: string, servers: NonNullable<StatusSnapshot["upstreams"]>[string]) {
  const up = servers.filter((u) => u.state === "up" || u.state === "busy").length;
  const detail = servers
    .map((u) => `${u.url.replace(/^https?:\/\//, "")}: ${u.state}${u.latencyMs !== null ? `, ${Math.round(u.latencyMs)} ms` : ""}${u.state === "down" && u.lastError ? ` (${u.lastError})` : ""}`)
    .join("; ");
  return card(`${engine.toUpperCase()} servers`, `${up} of ${servers.length} up`, detail, `card-upstream-${engine}`, up ? "ok" : "bad");
}

const LOOPBACK = /^(localhost|127(\.\d+){3}|\[?::1\]?)$/i;

/** Where a toy's MQTT setting must point: this page's host, or an external broker's own host. */
export function toyAddress(s: StatusSnapshot, pageHost = location.hostname): { host: string; mqtt: number | null; udp: number | null; external?: string } {
  const mqtt = s.devices?.mqtt;
  const udp = typeof s.devices?.udp === "number" && s.devices.udp > 0 ? s.devices.udp : null;
  if (typeof mqtt === "string" && mqtt !== "") {
    try {
      const url = new URL(mqtt);
      const host = url.hostname && !LOOPBACK.test(url.hostname) ? url.hostname : pageHost;
      return { host, mqtt: Number(url.port || (url.protocol === "mqtts:" ? 8883 : 1883)), udp, external: mqtt };
    } catch {}
  }
  return { host: pageHost, mqtt: typeof mqtt === "number" && mqtt > 0 ? mqtt : null, udp };
}

function renderPairing(s: StatusSnapshot, knownToys: number) {
  const box = byId<HTMLDetailsElement>("pairing");
  if (!pairingShown) {
    box.open = knownToys === 0; // open until a toy is known; then the parent opens it when needed
    pairingShown = true;
  }
  const a = toyAddress(s);
  // redrawn only when it changes, so a parent can select and copy the address
  const signature = JSON.stringify(a);
  if (signature === pairingSignature) return;
  pairingSignature = signature;
  const local = LOOPBACK.test(a.host);
  const port = (n: number | null) => (n === null ? "starting…" : String(n));
  const mono = (text: string) => h("code", {}, text);
  const parts: (HTMLElement | null)[] = [
    h(
      "dl",
      { class: "address" },
      h("dt", {}, "MQTT server"),
      h("dd", { id: "pair-mqtt" }, mono(a.host), " port ", mono(port(a.mqtt))),
      h("dt", {}, "Speech (UDP)"),
      h("dd", { id: "pair-udp" }, mono(a.host), " port ", mono(port(a.udp)), h("small", { class: "muted" }, " Hearth tells the toy this itself; open it in a firewall.")),
    ),
    a.external ? h("p", { class: "muted" }, "Toys reach Hearth through your own MQTT broker: ", mono(a.external)) : null,
    local
      ? h(
          "p",
          { class: "notice warn", id: "pair-local" },
          `This page is open on Hearth's own machine (${a.host}), an address a toy cannot use. Give the toy the Pi's network address instead, e.g. 192.168.1.20 (the Pi's `,
          mono("hostname -I"),
          " prints it), or open this console from a phone on the same Wi-Fi.",
        )
      : null,
    h(
      "ol",
      { class: "steps" },
      h("li", {}, "Put the toy in setup mode as its manual describes: it opens a Wi-Fi network named ", mono("FoloToy-xxxx"), "."),
      h("li", {}, "Join that network with a phone. The toy's setup page opens by itself (if not, open the address the phone shows for that network)."),
      h("li", {}, "Enter your home Wi-Fi, and as the MQTT server ", mono(a.host), " with port ", mono(port(a.mqtt)), ". Save."),
      h("li", {}, "The toy restarts and shows up under Toys below within a minute."),
    ),
    h("p", { class: "muted" }, "Over the toy's serial console instead: ", mono(`at+config=mqtt,broker,${a.host};port,${port(a.mqtt)}`)),
  ];
  byId("pairing-body").replaceChildren(...parts.filter((p): p is HTMLElement => p !== null));
}

function renderToys(toys: ConsoleToy[], paused: Map<string, DeviceControlsView>) {
  const box = byId("toys");
  if (toys.length === 0) {
    box.replaceChildren(h("p", { class: "muted" }, "No toy has connected yet. “Connect a toy” above says how."));
    return;
  }
  const sorted = [...toys].sort((a, b) => Number(b.connected) - Number(a.connected) || b.lastSeen - a.lastSeen);
  box.replaceChildren(
    ...sorted.map((t) => {
      const facts: [string, string][] = [
        ["Role", roleFact(t)],
        ["Battery", t.battery === null || t.battery === undefined ? "–" : `${t.battery}%`],
        ["Last seen", formatLastSeen(t.lastSeen, t.connected)],
      ];
      if (t.firmware) facts.push(["Firmware", t.firmware]);
      if (t.address) facts.push(["Address", t.address]);
      const frontEnd = t.frontEnd ?? "folotoy";
      const pause = paused.get(t.sn)?.paused;
      return h(
        "dl",
        { class: `toy${pause ? " paused" : ""}`, "data-sn": t.sn },
        h(
          "div",
          { class: "sn" },
          h("span", { class: t.connected ? "dot on" : "dot", title: t.connected ? "connected" : "offline" }),
          h("a", { href: historyHref(frontEnd, t.sn), class: t.nickname ? "name" : null }, t.nickname || t.sn),
          t.nickname ? h("small", { class: "sn-small" }, t.sn) : null,
        ),
        pause ? h("div", { class: "pause", "data-paused": pause }, `Not talking now: ${PAUSED[pause].short}`) : null,
        ...facts.flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]),
        h("div", { class: "more" }, h("a", { href: historyHref(frontEnd, t.sn), class: "open" }, "Controls and conversations →")),
      );
    }),
  );
}
