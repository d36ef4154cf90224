// Roles editor: roles.json as text, checked here (the browser's JSON parser gives the best
// message) and again by Hearth, whose validation errors are shown the same way.
import { api, errorMessage } from "./api.ts";
import { byId, formatTime } from "./dom.ts";

let loaded = false;
let dirty = false;

function textarea() {
  return byId<HTMLTextAreaElement>("roles-text");
}

function say(text: string, kind: "ok" | "error" | "" = "") {
  const message = byId("roles-message");
  message.textContent = text;
  message.className = `message ${kind}`;
  textarea().classList.toggle("invalid", kind === "error");
}

/** Parses the editor's text, or shows why it cannot and puts the cursor where the parser stopped. */
function parse(): object | null {
  const area = textarea();
  let value: unknown;
  try {
    value = JSON.parse(area.value);
  } catch (e) {
    say(`Not valid JSON: ${(e as Error).message}`, "error");
    const at = /position (\d+)/.exec((e as Error).message);
    if (at) {
      area.focus();
      area.setSelectionRange(Number(at[1]), Number(at[1]) + 1);
    }
    return null;
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    say('roles.json must be a JSON object: {"1": {"prompt": "…"}, …}', "error");
    return null;
  }
  return value;
}

async function load() {
  say("Loading…");
  const res = await api("/api/roles");
  if (!res.ok) return say(await errorMessage(res), "error");
  textarea().value = await res.text();
  loaded = true;
  dirty = false;
  say("");
}

async function save() {
  if (!parse()) return;
  const button = byId<HTMLButtonElement>("roles-save");
  button.disabled = true;
  try {
    const res = await api("/api/roles", { method: "PUT", headers: { "Content-Type": "application/json" }, body: textarea().value });
    if (!res.ok) return say(await errorMessage(res), "error");
    dirty = false;
    say(`Saved at ${formatTime(Date.now())}. Toys use the new roles within a few seconds.`, "ok");
  } finally {
    button.disabled = false;
  }
}

export function setupRolesPage() {
  textarea().addEventListener("input", () => {
    dirty = true;
    if (textarea().classList.contains("invalid")) say("");
  });
  byId("roles-save").addEventListener("click", () => void save().catch((e) => say(e.message, "error")));
  byId("roles-format").addEventListener("click", () => {
    const value = parse();
    if (!value) return;
    textarea().value = JSON.stringify(value, null, 2) + "\n";
    dirty = true;
    say("Formatted (not saved yet).");
  });
  byId("roles-reload").addEventListener("click", () => {
    if (dirty && !confirm("Discard your unsaved changes?")) return;
    void load().catch((e) => say(e.message, "error"));
  });
}

export async function showRolesPage() {
  if (!loaded || !dirty) await load().catch((e) => say(e.message, "error"));
}
