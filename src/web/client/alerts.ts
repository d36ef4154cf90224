// The alerts page (#alerts): every turn the safety layer flagged (GET /api/turns?flagged=1), a
// child who may be upset ("care") first and highlighted, then the questions the toy steered away
// from and the model sentences it held back, each in plain words with a link to the toy's page.
// The navigation's badge counts the alerts this browser has not shown yet.
import type { ToyStatus } from "../../pipeline/types.ts";
import { apiJson } from "./api.ts";
import { byId, formatWhen, h } from "./dom.ts";
import { categoryWords, conversationTitle, deviceOf, historyHref, isDevice, VERDICTS, type Turn } from "./turns.ts";

const LIMIT = 200;
const SEEN_KEY = "hearth.alertsSeen";
let shown = "";

/** Newest alert time this browser has shown on the alerts page. */
function seenUntil(): number {
  return Number(localStorage.getItem(SEEN_KEY) ?? 0) || 0;
}

/** Updates the badge; on the alerts page also the list (and everything listed counts as seen). */
export async function refreshAlerts(onPage: boolean) {
  const [turns, toys] = await Promise.all([
    apiJson<{ data: Turn[] }>(`/api/turns?flagged=1&limit=${LIMIT}`),
    onPage ? apiJson<{ data: ToyStatus[] }>("/api/toys") : Promise.resolve(null),
  ]);
  const alerts = turns.data;
  if (onPage) {
    const newest = Math.max(0, ...alerts.map((t) => t.at));
    if (newest > seenUntil()) localStorage.setItem(SEEN_KEY, String(newest));
    render(alerts, toys?.data ?? []);
  }
  badge(alerts.filter((t) => t.at > seenUntil()));
}

function badge(unseen: Turn[]) {
  const el = byId("alerts-badge");
  el.hidden = unseen.length === 0;
  el.textContent = unseen.length > 99 ? "99+" : String(unseen.length);
  const care = unseen.some((t) => t.safety?.verdict === "care");
  el.classList.toggle("care", care);
  byId("alerts-link").title = unseen.length ? `${unseen.length} new ${unseen.length === 1 ? "alert" : "alerts"}${care ? ", a child may need you" : ""}` : "";
}

function render(alerts: Turn[], toys: ToyStatus[]) {
  const nicknames = new Map(toys.map((t) => [`${t.frontEnd ?? "folotoy"}/${t.sn}`, t.nickname]));
  const signature = JSON.stringify([alerts.map((t) => t.id), [...nicknames]]);
  if (signature === shown) return;
  shown = signature;
  const box = byId("alerts-list");
  if (alerts.length === 0) {
    box.replaceChildren(h("p", { class: "muted empty" }, "Nothing to report. When a toy steers away from a risky question, or a child seems upset, it shows up here."));
    return;
  }
  const newestFirst = [...alerts].sort((a, b) => b.at - a.at);
  const care = newestFirst.filter((t) => t.safety?.verdict === "care");
  const others = newestFirst.filter((t) => t.safety?.verdict !== "care");
  const item = (t: Turn) => alert(t, nicknames.get(`${deviceOf(t).frontEnd}/${deviceOf(t).device}`));
  const parts: HTMLElement[] = [];
  if (care.length) parts.push(h("h2", { class: "alerts-care-head" }, "A child may need you"), ...care.map(item));
  if (others.length) parts.push(h("h2", {}, "Steered away"), ...others.map(item));
  box.replaceChildren(...parts);
}

function alert(t: Turn, nickname: string | undefined): HTMLElement {
  const { frontEnd, device } = deviceOf(t);
  const verdict = t.safety!.verdict;
  const words = VERDICTS[verdict] ?? { label: verdict, words: "" };
  const category = t.safety?.category ? categoryWords(t.safety.category) : "";
  const toy = isDevice(frontEnd);
  const answered = (t.sentences ?? []).map((s) => s.text).join(" ") || t.reply;
  return h(
    "article",
    { class: `alert ${verdict}`, "data-turn": t.id, "data-verdict": verdict },
    h(
      "div",
      { class: "alert-head" },
      h("span", { class: `badge ${verdict === "care" ? "care" : "flag"}` }, verdict === "care" ? "Needs care" : words.label),
      h("a", { href: historyHref(frontEnd, device), class: "who" }, ...conversationTitle(frontEnd, device, nickname)),
      h("span", { class: "muted when" }, formatWhen(t.at)),
    ),
    h("p", { class: "what" }, words.words, category ? ` About: ${category}${t.safety!.stage === "output" ? " (in the model's reply)" : ""}.` : ""),
    h(
      "dl",
      { class: "exchange" },
      h("dt", {}, toy ? "The child said" : "Said"),
      h("dd", { class: "said" }, t.transcript || "(no words)"),
      h("dt", {}, toy ? "The toy answered" : "Hearth answered"),
      h("dd", { class: "answered" }, answered || "(nothing)"),
    ),
  );
}
