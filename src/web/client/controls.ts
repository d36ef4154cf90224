// A toy's parental controls on its page: nickname, AI on/off, quiet hours per weekday and the daily
// talk-time limit with today's use, saved with PUT /api/devices/<frontEnd>/<device>/controls.
// The form is filled when the page opens and after a save; the poll only updates the "paused now"
// line and today's use, so nothing a parent is typing is overwritten. A setting the parent never
// touched is not sent, so it keeps following the defaults in config.toml.
import type { DeviceControls, QuietHours } from "../../pipeline/controls.ts";
import type { DeviceControlsView } from "../routes.ts";
import { api, apiJson, errorMessage, friendly } from "./api.ts";
import { byId, h } from "./dom.ts";

/** Monday first, as a week is read; values are JavaScript's days (0 = Sunday). */
const DAYS: [number, string, string][] = [
  [1, "Mo", "Monday"],
  [2, "Tu", "Tuesday"],
  [3, "We", "Wednesday"],
  [4, "Th", "Thursday"],
  [5, "Fr", "Friday"],
  [6, "Sa", "Saturday"],
  [0, "Su", "Sunday"],
];

/** Why a toy is not talking now, in a few words (toy cards) and in a sentence (its page). */
export const PAUSED: Record<NonNullable<DeviceControlsView["paused"]>, { short: string; long: (v: DeviceControlsView) => string }> = {
  resting: { short: "resting", long: () => "Resting now: its AI is switched off, so it answers with a friendly resting line." },
  quiet_hours: { short: "quiet time", long: () => "Quiet time now: it only says that it is quiet time, and answers again when the quiet time ends." },
  daily_limit: {
    short: "daily limit reached",
    long: (v) => `Daily limit reached: it has talked ${minutes(v.usedTodayMinutes)} today (the limit is ${v.effective.dailyLimitMinutes} minutes), and says goodbye until tomorrow.`,
  },
};

let current: { frontEnd: string; device: string } | null = null;
let loaded: DeviceControlsView | null = null;
let formKey = "";
/** Called after a save, so the title (nickname) updates at once. */
let onSaved: () => void = () => {};

const path = (frontEnd: string, device: string) => `/api/devices/${encodeURIComponent(frontEnd)}/${encodeURIComponent(device)}/controls`;

function minutes(n: number): string {
  const rounded = Math.round(n * 10) / 10;
  return `${rounded} min`;
}

function say(text: string, kind: "ok" | "error" | "" = "") {
  const el = byId("controls-message");
  el.textContent = text;
  el.className = `message ${kind}`;
}

export function setupControls(saved: () => void) {
  onSaved = saved;
  byId("controls-quiet-add").addEventListener("click", () => {
    byId("controls-quiet").append(quietRow({ from: "20:00", to: "07:00" }));
    changed();
  });
  byId("controls-form").addEventListener("submit", (e) => {
    e.preventDefault();
    void save();
  });
  byId("controls-form").addEventListener("input", changed);
  byId("controls-ai").addEventListener("change", aiHint);
}

/** Shows the form for a device (hidden for the Talk page and API clients: nothing to control there). */
export function showControls(frontEnd: string, device: string | null) {
  const form = byId<HTMLFormElement>("controls-form");
  if (device === null) {
    current = null;
    form.hidden = true;
    byId("controls-paused").hidden = true;
    return;
  }
  if (current?.frontEnd !== frontEnd || current.device !== device) {
    current = { frontEnd, device };
    loaded = null;
    formKey = "";
    form.hidden = true;
    byId("controls-paused").hidden = true;
    say("");
  }
}

/** Fetches the controls: fills the form the first time, and otherwise only the live parts. */
export async function refreshControls(): Promise<DeviceControlsView | null> {
  if (!current) return null;
  const { frontEnd, device } = current;
  const view = await apiJson<DeviceControlsView>(path(frontEnd, device));
  if (current?.frontEnd !== frontEnd || current.device !== device) return null;
  const key = `${frontEnd}/${device}`;
  if (formKey !== key) {
    fill(view);
    formKey = key;
  }
  loaded = loaded ?? view;
  showLive(view);
  byId("controls-form").hidden = false;
  return view;
}

function fill(view: DeviceControlsView) {
  loaded = view;
  byId<HTMLInputElement>("controls-nickname").value = view.controls.nickname ?? "";
  byId<HTMLInputElement>("controls-ai").checked = view.effective.aiEnabled;
  byId("controls-quiet").replaceChildren(...view.effective.quietHours.map(quietRow));
  byId<HTMLInputElement>("controls-limit").value = String(view.effective.dailyLimitMinutes);
  aiHint();
  defaultsHint();
}

function showLive(view: DeviceControlsView) {
  const note = byId("controls-paused");
  note.hidden = !view.paused;
  note.dataset.paused = view.paused ?? "";
  note.textContent = view.paused ? PAUSED[view.paused].long(view) : "";
  const limit = view.effective.dailyLimitMinutes;
  byId("controls-usage").textContent = limit > 0 ? `Used today: ${minutes(view.usedTodayMinutes)} of ${limit}` : `Used today: ${minutes(view.usedTodayMinutes)}`;
  const bar = byId<HTMLProgressElement>("controls-usage-bar");
  bar.hidden = limit <= 0;
  bar.max = Math.max(limit, 1);
  bar.value = Math.min(view.usedTodayMinutes, limit);
}

function quietRow(rule: QuietHours): HTMLElement {
  const row = h("div", { class: "quiet-row" });
  const days = h(
    "div",
    { class: "days", role: "group", "aria-label": "Days" },
    ...DAYS.map(([value, short, long]) =>
      h(
        "label",
        { class: "day", title: long },
        h("input", { type: "checkbox", value, checked: !rule.days || rule.days.includes(value), "aria-label": long }),
        h("span", {}, short),
      ),
    ),
  );
  const from = h("input", { type: "time", class: "from", value: rule.from, required: true, "aria-label": "From" });
  const to = h("input", { type: "time", class: "to", value: rule.to, required: true, "aria-label": "To" });
  const remove = h("button", { type: "button", class: "link remove", title: "Remove this quiet time" }, "Remove");
  remove.addEventListener("click", () => {
    row.remove();
    changed();
  });
  row.append(days, h("div", { class: "times" }, h("span", { class: "time" }, "from ", from), h("span", { class: "time" }, "to ", to), remove));
  return row;
}

/** The quiet times as the form has them, or an error naming the row that is not right. */
function readQuietHours(): QuietHours[] | string {
  const rows = Array.from(document.querySelectorAll<HTMLElement>("#controls-quiet .quiet-row"));
  const rules: QuietHours[] = [];
  for (const [i, row] of rows.entries()) {
    const days = Array.from(row.querySelectorAll<HTMLInputElement>(".day input"))
      .filter((c) => c.checked)
      .map((c) => Number(c.value))
      .sort((a, b) => a - b);
    const from = row.querySelector<HTMLInputElement>("input.from")!.value;
    const to = row.querySelector<HTMLInputElement>("input.to")!.value;
    const which = rows.length > 1 ? `Quiet time ${i + 1}` : "The quiet time";
    if (days.length === 0) return `${which} has no day: tick at least one.`;
    if (!/^\d\d:\d\d$/.test(from) || !/^\d\d:\d\d$/.test(to)) return `${which} needs a start and an end time.`;
    if (from === to) return `${which} starts and ends at the same time.`;
    rules.push(days.length === 7 ? { from, to } : { days, from, to });
  }
  return rules;
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** What to PUT: what the parent set; a setting still equal to the default it came from is left out. */
function body(): DeviceControls | string {
  if (!loaded) return "Not loaded yet.";
  const { controls: own, effective } = loaded;
  const out: DeviceControls = {};
  const nickname = byId<HTMLInputElement>("controls-nickname").value.trim();
  if (nickname) out.nickname = nickname;
  if (!byId<HTMLInputElement>("controls-ai").checked) out.aiEnabled = false;
  const quiet = readQuietHours();
  if (typeof quiet === "string") return quiet;
  if (own.quietHours !== undefined || !same(quiet, effective.quietHours)) out.quietHours = quiet;
  const raw = byId<HTMLInputElement>("controls-limit").value.trim();
  const limit = Number(raw);
  if (raw === "" || !Number.isInteger(limit) || limit < 0 || limit > 1440) return "Daily talk time is a whole number of minutes from 0 (no limit) to 1440.";
  if (own.dailyLimitMinutes !== undefined || limit !== effective.dailyLimitMinutes) out.dailyLimitMinutes = limit;
  return out;
}

function changed() {
  say("Changes not saved yet.");
  defaultsHint();
}

function aiHint() {
  const on = byId<HTMLInputElement>("controls-ai").checked;
  byId("controls-ai-hint").textContent = on
    ? "The toy answers with its AI (within the quiet hours and the daily limit)."
    : "Off: the toy does not use its AI and answers every question with a friendly resting line.";
}

/** Says when the quiet hours shown are config.toml's defaults rather than this toy's own. */
function defaultsHint() {
  const quiet = readQuietHours();
  const following = !!loaded && loaded.controls.quietHours === undefined && typeof quiet !== "string" && quiet.length > 0 && same(quiet, loaded.effective.quietHours);
  byId("controls-quiet-default").hidden = !following;
}

async function save() {
  if (!current) return;
  const payload = body();
  if (typeof payload === "string") return say(payload, "error");
  const button = byId<HTMLButtonElement>("controls-save");
  button.disabled = true;
  try {
    const res = await api(path(current.frontEnd, current.device), {
      method: "PUT",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(payload),
    });
    if (!res.ok) return say(`Not saved: ${await errorMessage(res)}`, "error");
    const view = (await res.json()) as DeviceControlsView;
    fill(view);
    showLive(view);
    say(view.paused ? "Saved." : "Saved. The toy follows the new settings from its next question.", "ok");
    onSaved();
  } catch (e) {
    say(friendly(e), "error");
  } finally {
    button.disabled = false;
  }
}
