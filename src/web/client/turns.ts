// One turn of the turn log as the console shows it, on the status page and in a toy's history:
// what was heard, what was said (each sentence playable while its audio is kept), what went
// wrong in plain words, lines spoken in place of a reply, and safety verdicts when present.
import type { TurnRecord } from "../../pipeline/types.ts";
import { byId, formatMs, formatWhen, h } from "./dom.ts";

/** Added by the safety layer; absent on turns recorded before it. */
export interface Safety {
  verdict: "allowed" | "redirected" | "blocked" | "care";
  stage?: "input" | "output";
  category?: string;
}

export type Turn = TurnRecord & { safety?: Safety };

/** Which conversation a turn belongs to, by its key (older records: by source and sn). */
export function deviceOf(t: Turn): { frontEnd: string; device: string } {
  return { frontEnd: t.key?.frontEnd ?? t.source, device: t.key?.device ?? t.sn ?? "" };
}

/** The people-facing name of a conversation: a toy (its nickname when it has one), the Talk page, or an API client. */
export function conversationName(frontEnd: string, device: string, nickname?: string): string {
  if (nickname && isDevice(frontEnd)) return nickname;
  if (frontEnd === "folotoy") return `Toy ${device}`;
  if (frontEnd === "web" || (frontEnd === "api" && device === "console")) return "Talk page";
  if (frontEnd === "api") return device === "default" ? "API clients" : `API client “${device}”`;
  return `${frontEnd} ${device}`;
}

/** Whether the conversation is a device's (a toy), which has parental controls, rather than the Talk page's or an API client's. */
export function isDevice(frontEnd: string): boolean {
  return frontEnd !== "api" && frontEnd !== "web";
}

/** A conversation's name as a heading shows it: a toy's nickname with its SN in small text. */
export function conversationTitle(frontEnd: string, device: string, nickname?: string): (Node | string)[] {
  const name = conversationName(frontEnd, device, nickname);
  return nickname && isDevice(frontEnd) ? [name, " ", smallSn(device)] : [name];
}

function smallSn(sn: string): HTMLElement {
  return h("small", { class: "sn-small" }, sn);
}

/** The console's route to a conversation's own page. */
export function historyHref(frontEnd: string, device: string): string {
  return `#history/${encodeURIComponent(frontEnd)}/${encodeURIComponent(device)}`;
}

const OUTCOMES: Record<string, { label: string; words: string }> = {
  heard_nothing: { label: "Heard nothing", words: "Nothing was heard: the recording was silent or too quiet." },
  cancelled: { label: "Stopped", words: "The reply was stopped before it finished." },
  timeout: { label: "Too slow", words: "Hearth could not answer in time." },
  failed: { label: "Failed", words: "Something went wrong while answering." },
};

export const VERDICTS: Record<string, { label: string; words: string }> = {
  redirected: { label: "Redirected", words: "The toy gently changed the subject instead of answering." },
  blocked: { label: "Blocked", words: "A sentence the model wrote was held back, not spoken." },
  care: { label: "Care", words: "The child may be upset: the toy answered kindly and suggested talking to a trusted grown-up." },
};

/** The safety layer's categories (config's [safety] categories) in a parent's words. */
const CATEGORIES: Record<string, string> = {
  fire: "fire and burns",
  weapons: "weapons and sharp objects",
  poison: "poison, medicine and chemicals",
  danger: "dangerous stunts, heights or water",
  self_harm: "self-harm and distress",
  sexual: "sexual content",
  drugs: "drugs, alcohol or smoking",
  violence: "violence",
  strangers: "strangers and meeting people",
  personal_info: "personal information",
  hate: "hate and bullying",
  manipulation: "emotional manipulation",
};

export function categoryWords(category: string): string {
  return CATEGORIES[category] ?? category.replace(/[_-]+/g, " ");
}

/** Whether the safety layer flagged the turn (redirected, blocked or care). */
export function flagged(t: Turn): boolean {
  return !!t.safety && t.safety.verdict !== "allowed";
}

export interface TurnOptions {
  /** Shows a Delete button; called after the user pressed it. */
  onDelete?: (t: Turn, el: HTMLElement) => void;
}

export function renderTurn(t: Turn, options: TurnOptions = {}): HTMLElement {
  const outcome = t.outcome && t.outcome !== "replied" ? OUTCOMES[t.outcome] ?? { label: t.outcome, words: "" } : null;
  const verdict = flagged(t) ? VERDICTS[t.safety!.verdict] ?? { label: t.safety!.verdict, words: "" } : null;
  const timings = [
    ["STT", t.timings?.sttMs],
    ["first token", t.timings?.firstTokenMs],
    ["first audio", t.timings?.firstAudioMs],
    ["total", t.timings?.totalMs],
  ].filter(([, v]) => v !== undefined) as [string, number][];
  const sentences = t.sentences ?? [];
  const meta = [formatWhen(t.at), t.role ? `role ${t.role}` : "", sourceLabel(t)].filter(Boolean).join(" · ");
  const del = options.onDelete
    ? h("button", { class: "link delete", type: "button", title: "Delete this turn from Hearth (and its disk)" }, "Delete")
    : null;
  const el = h(
    "article",
    { class: `turn${outcome ? ` outcome-${t.outcome}` : ""}${verdict ? " flagged" : ""}`, "data-turn": t.id, "data-outcome": t.outcome ?? null, "data-verdict": t.safety?.verdict ?? null },
    h(
      "div",
      { class: "meta" },
      h("span", {}, meta),
      outcome ? h("span", { class: "badge warn" }, outcome.label) : null,
      verdict ? h("span", { class: "badge flag" }, verdict.label) : null,
      del,
    ),
    verdict
      ? h("p", { class: "safety" }, verdict.words, t.safety!.category ? ` (${categoryWords(t.safety!.category)}${t.safety!.stage === "output" ? ", in the model's reply" : ""})` : "")
      : null,
    h("p", { class: "said" }, t.transcript || (t.outcome === "heard_nothing" ? "(nothing heard)" : "(no words)")),
    sentences.length
      ? h(
          "ol",
          { class: "sentences" },
          ...sentences.map((s) =>
            h(
              "li",
              { class: s.fallback ? "fallback" : null },
              s.fallback
                ? h("span", { class: "tag", title: "A friendly line Hearth says when it cannot reply in time, so the toy is never silent" }, "fallback line")
                : (s as { fixed?: boolean }).fixed
                  ? h("span", { class: "tag", title: "A line Hearth says on its own (not written by the language model)" }, "Hearth's line")
                  : null,
              h("span", { class: "text" }, s.text),
              // API and Talk page turns are synthesized by the client, not kept by Hearth
              s.url ? h("audio", { controls: true, preload: "none", src: s.url }) : deviceOf(t).frontEnd === "folotoy" ? h("small", { class: "muted" }, "audio expired") : null,
            ),
          ),
        )
      : t.reply
        ? h("p", { class: "reply" }, t.reply)
        : null,
    t.toolCalls?.length ? h("ul", { class: "tools" }, ...t.toolCalls.map((c) => h("li", { "data-outcome": c.outcome }, toolCallWords(c)))) : null,
    outcome ? h("p", { class: "explain" }, t.explanation || outcome.words) : null,
    t.error ? h("details", { class: "technical" }, h("summary", {}, "Technical details"), h("code", {}, t.error)) : null,
    timings.length ? h("ul", { class: "timings" }, ...timings.map(([k, v]) => h("li", {}, `${k} ${formatMs(v)}`))) : null,
  );
  if (del) {
    del.addEventListener("click", () => options.onDelete!(t, el));
  }
  return el;
}

const TOOL_OUTCOMES: Record<string, string> = {
  ok: "done",
  error: "it did not work",
  timeout: "the device did not answer in time",
  cancelled: "stopped before the device answered",
};

/** A device tool the model used, in words: "Used the toy's self.audio_speaker.set_volume (volume 30): done". */
function toolCallWords(c: NonNullable<Turn["toolCalls"]>[number]): string {
  let args = "";
  try {
    const parsed = JSON.parse(c.arguments || "{}") as Record<string, unknown>;
    args = Object.entries(parsed).map(([k, v]) => `${k} ${typeof v === "string" ? v : JSON.stringify(v)}`).join(", ");
  } catch {
    args = c.arguments;
  }
  const result = c.outcome === "ok" ? "" : ` (${c.result.replace(/^error: /, "")})`;
  return `Used the device's ${c.name}${args ? ` (${args})` : ""}: ${TOOL_OUTCOMES[c.outcome] ?? c.outcome}${result}`;
}

function sourceLabel(t: Turn): string {
  const { frontEnd, device } = deviceOf(t);
  if (frontEnd === "folotoy") return "toy";
  if (frontEnd === "web" || (frontEnd === "api" && device === "console")) return "Talk page";
  if (frontEnd === "api") return "API";
  return frontEnd;
}

/** Keeps built turn elements across refreshes (an <audio> being played survives), per container. */
export class TurnList {
  private readonly elements = new Map<string, HTMLElement>();
  private shown = "";

  constructor(
    private readonly containerId: string,
    private readonly options: TurnOptions = {},
  ) {}

  /** Renders the turns grouped by `groupOf` (one group when absent); does nothing when unchanged. */
  render(turns: Turn[], empty: string, groupOf?: (t: Turn) => { id: string; title: Node | string }) {
    const signature = turns.map((t) => t.id).join(",");
    if (signature === this.shown && this.shown !== "") return;
    this.shown = signature;
    const box = byId(this.containerId);
    if (turns.length === 0) {
      box.replaceChildren(h("p", { class: "muted" }, empty));
      return;
    }
    const keep = new Set(turns.map((t) => t.id));
    for (const id of this.elements.keys()) if (!keep.has(id)) this.elements.delete(id);
    const element = (t: Turn) => {
      let el = this.elements.get(t.id);
      if (!el) this.elements.set(t.id, (el = renderTurn(t, this.options)));
      return el;
    };
    const sorted = [...turns].sort((a, b) => b.at - a.at);
    if (!groupOf) {
      box.replaceChildren(...sorted.map(element));
      return;
    }
    const groups = new Map<string, { title: Node | string; turns: Turn[] }>();
    for (const t of sorted) {
      const g = groupOf(t);
      const entry = groups.get(g.id) ?? { title: g.title, turns: [] };
      entry.turns.push(t);
      groups.set(g.id, entry);
    }
    box.replaceChildren(
      ...[...groups].map(([id, g]) => h("div", { class: "group", "data-group": id }, h("h3", {}, g.title), ...g.turns.map(element))),
    );
  }

  /** Forgets what was shown, so the next render rebuilds the list. */
  reset() {
    this.shown = "";
  }
}
