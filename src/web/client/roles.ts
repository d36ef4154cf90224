// Roles page: a form per role of roles.json (persona prompt, greeting, voice with a "play" button,
// language, reply length), and the raw JSON for everything else. The text in the JSON editor is
// the one truth: the form reads it and writes each change back into it, keeping every other field
// (and the per-toy "toys" section) as it was. Saving sends the whole file (PUT /api/roles); it is
// checked here (the browser's JSON parser gives the best message) and again by Hearth.
import { api, ApiError, errorMessage, friendly } from "./api.ts";
import { languageName, loadVoices, parseVoice, roleVoice, rolesOf, shortName, voiceName, type VoiceCatalog } from "./catalog.ts";
import { byId, formatTime, h } from "./dom.ts";

let loaded = false;
let dirty = false;
let view: "form" | "json" = "form";
let catalog: VoiceCatalog = { voices: [], names: [], map: {} };
const DEFAULT_LANGUAGES = ["en", "zh", "yue", "ja", "ko"];
const SAMPLE = "Hello! This is how I sound.";

function textarea() {
  return byId<HTMLTextAreaElement>("roles-text");
}

function say(text: string, kind: "ok" | "error" | "" = "") {
  const message = byId("roles-message");
  message.textContent = text;
  message.className = `message ${kind}`;
  textarea().classList.toggle("invalid", kind === "error" && view === "json");
}

/** Parses the editor's text, or shows why it cannot and puts the cursor where the parser stopped. */
function parse(): Record<string, unknown> | null {
  const area = textarea();
  let value: unknown;
  try {
    value = JSON.parse(area.value);
  } catch (e) {
    say(`Not valid JSON: ${(e as Error).message}`, "error");
    const at = /position (\d+)/.exec((e as Error).message);
    if (at && view === "json") {
      area.focus();
      area.setSelectionRange(Number(at[1]), Number(at[1]) + 1);
    }
    return null;
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    say('roles.json must be a JSON object: {"1": {"prompt": "…"}, …}', "error");
    return null;
  }
  return value as Record<string, unknown>;
}

function setView(next: "form" | "json") {
  if (next === "form") {
    const value = parse();
    if (!value) return; // stays on the JSON, which shows what is wrong
    renderForm(value);
  }
  showView(next);
}

function showView(next: "form" | "json") {
  view = next;
  byId("roles-form").hidden = next !== "form";
  byId("roles-json").hidden = next !== "json";
  byId("roles-format").hidden = next !== "json";
  byId("roles-view-form").setAttribute("aria-pressed", String(next === "form"));
  byId("roles-view-json").setAttribute("aria-pressed", String(next === "json"));
}

async function load() {
  say("Loading…");
  const res = await api("/api/roles");
  if (!res.ok) return say(await errorMessage(res), "error");
  textarea().value = await res.text();
  loaded = true;
  dirty = false;
  const value = parse();
  if (value) {
    renderForm(value);
    say("");
  } else setView("json");
}

async function save() {
  if (!parse()) {
    if (view === "form") setView("json");
    return;
  }
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

/** Writes one field of one role into the JSON text ("" or undefined removes the field, except the prompt). */
function setField(key: string, field: string, value: string | number | undefined) {
  const file = parse();
  if (!file) return;
  const role = (file[key] ?? {}) as Record<string, unknown>;
  if (value === undefined || (value === "" && field !== "prompt")) delete role[field];
  else role[field] = value;
  file[key] = role;
  textarea().value = JSON.stringify(file, null, 2) + "\n";
  dirty = true;
  say("Changed (not saved yet).");
}

function renderForm(file: Record<string, unknown>) {
  const roles = rolesOf(file);
  const box = byId("roles-form");
  const notes = [];
  if ("toys" in file) notes.push(h("p", { class: "muted" }, "Some toys have their own settings for a role (the “toys” section): they are kept, and can be changed in the JSON."));
  if (roles.length === 0) notes.push(h("p", { class: "muted" }, "No roles yet: add one in the JSON, e.g. {\"1\": {\"prompt\": \"You are a kind friend.\"}}."));
  box.replaceChildren(...notes, ...roles.map((r) => roleForm(r.key, file[r.key] as Record<string, unknown>)));
}

function roleForm(key: string, raw: Record<string, unknown>): HTMLElement {
  const text = (name: string) => (typeof raw[name] === "string" ? (raw[name] as string) : raw[name] === undefined || raw[name] === null ? "" : String(raw[name]));
  const id = (name: string) => `role-${key}-${name}`;
  const field = (name: string, label: string, control: HTMLElement, hint = "") =>
    h("div", { class: `field field-${name}` }, h("label", { for: id(name) }, label), control, hint ? h("small", { class: "muted" }, hint) : null);

  const greeting = h("textarea", { id: id("start_text"), name: "start_text", rows: 2, placeholder: "Said when the role is chosen on the toy" });
  greeting.value = text("start_text");
  const prompt = h("textarea", { id: id("prompt"), name: "prompt", rows: 4, placeholder: "Who the toy is and how it talks, e.g. “You are a brave little rabbit…”" });
  prompt.value = text("prompt");
  prompt.rows = Math.min(12, Math.max(3, Math.ceil(prompt.value.length / 60) + 1)); // a long persona shows whole

  // the voice: automatic (by language), an installed voice (+ speaker), an OpenAI name, or what the file says
  const voice = h("select", { id: id("voice"), name: "voice" });
  const speaker = h("select", { name: "speaker", "aria-label": "Speaker", class: "speaker" });
  const current = text("voice_name");
  const parsed = parseVoice(current, catalog);
  const isOpenAi = current !== "" && catalog.map[current.toLowerCase()] !== undefined;
  const options: HTMLElement[] = [h("option", { value: "" }, "Automatic: the first voice of its language")];
  options.push(...catalog.voices.map((v) => h("option", { value: v.id }, `${v.id}${v.language ? ` (${v.language})` : ""}${v.speakers > 1 ? `, ${v.speakers} speakers` : ""}`)));
  const openai = Object.keys(catalog.map);
  if (openai.length) options.push(h("optgroup", { label: "OpenAI names (mapped to the voices above)" }, ...openai.map((n) => h("option", { value: n }, `${n} → ${catalog.map[n]}`))));
  if (current !== "" && !isOpenAi && parsed === null) {
    options.push(h("option", { value: current }, catalog.voices.length ? `${current} (not installed here: the language's voice is used)` : current));
  }
  voice.replaceChildren(...options);
  voice.value = isOpenAi ? current.toLowerCase() : parsed ? parsed.id : current;
  const fillSpeakers = (wanted: number) => {
    const info = catalog.voices.find((v) => v.id === voice.value);
    const count = info?.speakers ?? 1;
    speaker.hidden = count <= 1;
    speaker.replaceChildren(...Array.from({ length: count }, (_, i) => h("option", { value: String(i) }, `Speaker ${i}`)));
    speaker.value = String(wanted < count ? wanted : 0);
  };
  fillSpeakers(isOpenAi ? 0 : (parsed?.speaker ?? 0));
  const voiceValue = () => {
    const info = catalog.voices.find((v) => v.id === voice.value);
    return info && info.speakers > 1 ? `${info.id}:${speaker.value}` : voice.value;
  };
  const play = h("button", { type: "button", class: "secondary play-voice", title: "Hear the greeting in this voice" }, "▶ Play");

  const language = h("select", { id: id("language"), name: "language" });
  const lang = text("language");
  const codes = [...new Set([...catalog.voices.map((v) => v.language).filter(Boolean), ...DEFAULT_LANGUAGES, ...(lang ? [lang] : [])])];
  language.replaceChildren(h("option", { value: "" }, "Not set"), ...codes.map((c) => h("option", { value: c }, languageName(c))));
  language.value = lang;

  const maxTokens = h("input", { id: id("max_tokens"), name: "max_tokens", type: "number", min: 1, max: 4096, step: 1, inputmode: "numeric", placeholder: "Hearth's default" });
  maxTokens.value = text("max_tokens");

  const name = shortName({ key, prompt: text("prompt"), start_text: text("start_text") });
  const title = h("span", { class: "muted" }, name);
  const form = h(
    "fieldset",
    { class: "role-form", "data-role": key },
    h("legend", {}, `Role ${key} `, title),
    field("prompt", "Persona (prompt)", prompt),
    field("start_text", "Greeting (start_text)", greeting),
    field("voice", "Voice", h("div", { class: "row" }, voice, speaker, play)),
    h(
      "div",
      { class: "row pair" },
      field("language", "Language", language),
      field("max_tokens", "Reply length (tokens)", maxTokens, "About ¾ of a word each; leave empty for Hearth's default."),
    ),
  );

  const retitle = () => (title.textContent = shortName({ key, prompt: prompt.value, start_text: greeting.value }));
  prompt.addEventListener("input", () => (setField(key, "prompt", prompt.value), retitle()));
  greeting.addEventListener("input", () => (setField(key, "start_text", greeting.value), retitle()));
  voice.addEventListener("change", () => {
    fillSpeakers(0);
    setField(key, "voice_name", voiceValue());
  });
  speaker.addEventListener("change", () => setField(key, "voice_name", voiceValue()));
  language.addEventListener("change", () => setField(key, "language", language.value));
  maxTokens.addEventListener("input", () => {
    const n = maxTokens.value === "" ? undefined : Number(maxTokens.value);
    if (n === undefined || (Number.isInteger(n) && n >= 1)) setField(key, "max_tokens", n);
  });
  play.addEventListener("click", () => void playVoice(play, { key, voice_name: voiceValue() || undefined, language: language.value || undefined, start_text: greeting.value, speed: Number(raw.speed) || undefined }));
  return form;
}

/** Speaks the role's greeting (or a sample) in the voice the role would use. */
async function playVoice(button: HTMLButtonElement, role: { key: string; voice_name?: string; language?: string; start_text: string; speed?: number }) {
  const player = byId<HTMLAudioElement>("roles-player");
  // as Hearth picks it: the named voice when installed, else the language's first voice, else the default
  const picked = roleVoice(role, catalog);
  const voice = picked ? voiceName(picked.id, picked.speaker, catalog) : (catalog.voices[0]?.id ?? role.voice_name ?? "alloy");
  button.disabled = true;
  say(`Playing ${voice}…`);
  try {
    const res = await api("/v1/audio/speech", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ model: "tts-1", input: role.start_text.trim() || SAMPLE, voice, response_format: "mp3", ...(role.speed ? { speed: role.speed } : {}) }),
    });
    if (!res.ok) throw new ApiError(await errorMessage(res), res.status);
    if (player.src.startsWith("blob:")) URL.revokeObjectURL(player.src);
    player.src = URL.createObjectURL(await res.blob());
    player.dataset.voice = voice;
    await player.play();
    say(`Playing role ${role.key} in ${voice}.`);
  } catch (e) {
    say(`Cannot play this voice: ${friendly(e)}`, "error");
  } finally {
    button.disabled = false;
  }
}

export function setupRolesPage() {
  textarea().addEventListener("input", () => {
    dirty = true;
    if (textarea().classList.contains("invalid")) say("");
  });
  byId("roles-view-form").addEventListener("click", () => setView("form"));
  byId("roles-view-json").addEventListener("click", () => setView("json"));
  byId("roles-save").addEventListener("click", () => void save().catch((e) => say(friendly(e), "error")));
  byId("roles-format").addEventListener("click", () => {
    const value = parse();
    if (!value) return;
    textarea().value = JSON.stringify(value, null, 2) + "\n";
    dirty = true;
    say("Formatted (not saved yet).");
  });
  byId("roles-reload").addEventListener("click", () => {
    if (dirty && !confirm("Discard your unsaved changes?")) return;
    void load().catch((e) => say(friendly(e), "error"));
  });
  showView("form");
}

export async function showRolesPage() {
  if (catalog.voices.length === 0) {
    try {
      catalog = await loadVoices();
    } catch {} // the form still works; the voice list then only shows what the file says
  }
  if (!loaded || !dirty) await load().catch((e) => say(friendly(e), "error"));
}
