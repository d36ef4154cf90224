// One conversation partner's page (#history/<frontEnd>/<device>): a toy's facts and parental
// controls (controls.ts), everything it heard and said (playable while the audio is kept), one-tap
// deletion of a turn, and "clear its memory" (its history and turns, from Hearth's disk too).
import type { ConsoleToy } from "../routes.ts";
import { api, apiJson, errorMessage, friendly } from "./api.ts";
import { refreshControls, setupControls, showControls } from "./controls.ts";
import { byId, formatLastSeen, h } from "./dom.ts";
import { refreshRoleSwitch, roleFact, setupRoleSwitch, showRoleSwitch } from "./role-switch.ts";
import { conversationName, conversationTitle, isDevice, TurnList, type Turn } from "./turns.ts";

const LIMIT = 200;
let current: { frontEnd: string; device: string } | null = null;

const turnList = new TurnList("history-turns", { onDelete: (t, el) => void deleteTurn(t, el) });

function say(text: string, kind: "ok" | "error" | "" = "") {
  const el = byId("history-message");
  el.textContent = text;
  el.className = `message ${kind}`;
}

export function setupHistoryPage() {
  byId("history-erase").addEventListener("click", () => void eraseDevice());
  setupControls(() => void refreshHistoryPage().catch(() => {}));
  setupRoleSwitch(() => void refreshHistoryPage().catch(() => {}));
}

/** Called when the route opens a conversation; refreshHistoryPage fills it. */
export function showHistoryPage(frontEnd: string, device: string) {
  if (current?.frontEnd !== frontEnd || current?.device !== device) {
    current = { frontEnd, device };
    turnList.reset();
    byId("history-turns").replaceChildren(h("p", { class: "muted" }, "Loading…"));
    byId("history-facts").replaceChildren();
    say("");
  }
  const isToy = frontEnd === "folotoy";
  showControls(frontEnd, isDevice(frontEnd) ? device : null);
  showRoleSwitch(frontEnd, isDevice(frontEnd) ? device : null);
  if (byId("history-title").dataset.for !== `${frontEnd}/${device}`) {
    byId("history-title").replaceChildren(...conversationTitle(frontEnd, device));
    byId("history-title").dataset.for = `${frontEnd}/${device}`;
  }
  byId("history-erase").textContent = isToy ? "Clear its memory" : "Clear this memory";
  byId("history-explain").textContent = isToy
    ? "Everything this toy heard and said, newest first. Clearing its memory deletes its conversations from Hearth's disk: the toy starts afresh, with every role."
    : "Everything said here, newest first. Clearing the memory deletes these conversations from Hearth's disk: the next one starts afresh.";
}

export async function refreshHistoryPage() {
  if (!current) return;
  const { frontEnd, device } = current;
  const query = new URLSearchParams({ limit: String(LIMIT), frontEnd, device });
  const hasControls = isDevice(frontEnd);
  const [turns, toys, controls] = await Promise.all([
    apiJson<{ data: Turn[] }>(`/api/turns?${query}`),
    hasControls ? apiJson<{ data: ConsoleToy[] }>("/api/toys") : Promise.resolve({ data: [] as ConsoleToy[] }),
    // while Hearth starts the controls are not there yet: the page shows the rest
    hasControls ? refreshControls().catch(() => null) : Promise.resolve(null),
  ]);
  if (current?.frontEnd !== frontEnd || current.device !== device) return; // the parent moved on meanwhile
  const toy = toys.data.find((t) => t.sn === device && (t.frontEnd ?? "folotoy") === frontEnd);
  const nickname = controls?.controls.nickname ?? toy?.nickname;
  byId("history-title").replaceChildren(...conversationTitle(frontEnd, device, nickname));
  renderFacts(toy);
  if (hasControls) await refreshRoleSwitch(toy, controls);
  turnList.render(turns.data, "No conversation kept.");
}

function renderFacts(toy: ConsoleToy | undefined) {
  const box = byId("history-facts");
  if (!toy) {
    box.replaceChildren();
    return;
  }
  const facts: [string, string][] = [
    ["Role", roleFact(toy)],
    ["Battery", toy.battery === null || toy.battery === undefined ? "–" : `${toy.battery}%`],
    ["Last seen", formatLastSeen(toy.lastSeen, toy.connected)],
  ];
  if (toy.firmware) facts.push(["Firmware", toy.firmware]);
  box.replaceChildren(...facts.map(([k, v]) => h("div", { class: "fact" }, h("dt", {}, k), h("dd", {}, v))));
}

async function deleteTurn(t: Turn, el: HTMLElement) {
  try {
    const res = await api(`/api/turns/${encodeURIComponent(t.id)}`, { method: "DELETE" });
    if (!res.ok && res.status !== 404) return say(`Could not delete it: ${await errorMessage(res)}`, "error");
    el.remove();
    turnList.reset();
    say("Deleted.", "ok");
  } catch (e) {
    say(friendly(e), "error");
  }
}

async function eraseDevice() {
  if (!current) return;
  const { frontEnd, device } = current;
  const name = byId("history-title").firstChild?.textContent || conversationName(frontEnd, device);
  const what = frontEnd === "folotoy" ? `${name} forgets every conversation, with every role.` : `${name}: every conversation is forgotten.`;
  if (!confirm(`${what} This deletes them from Hearth's disk and cannot be undone. Clear the memory?`)) return;
  const button = byId<HTMLButtonElement>("history-erase");
  button.disabled = true;
  try {
    const res = await api(`/api/history/${encodeURIComponent(frontEnd)}/${encodeURIComponent(device)}`, { method: "DELETE" });
    if (!res.ok) return say(`Could not clear it: ${await errorMessage(res)}`, "error");
    const { erased } = (await res.json()) as { erased: number };
    turnList.reset();
    // the memory is gone, the parent's controls (name, role, quiet hours, limit) are kept: refill the form from Hearth
    if (isDevice(frontEnd)) {
      showControls(frontEnd, null);
      showControls(frontEnd, device);
    }
    await refreshHistoryPage();
    say(erased ? `Memory cleared (${erased} ${erased === 1 ? "item" : "items"} deleted).` : "There was nothing to forget.", "ok");
  } catch (e) {
    say(friendly(e), "error");
  } finally {
    button.disabled = false;
  }
}
