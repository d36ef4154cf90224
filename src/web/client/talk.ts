// Talk page: microphone -> /v1/audio/transcriptions -> /v1/chat/completions with "model": "role:N"
// (the same turn a toy gets: the role's persona and history, kept by Hearth under user "console")
// -> /v1/audio/speech per sentence, in the role's voice -> play. The same OpenAI routes any client
// uses; the console is just another client. Each sentence is sent to TTS the moment it is complete,
// so the first one plays while the model is still writing the rest. Stop aborts every request of
// the turn (Hearth then cancels the turn) and the playback.
import { resample } from "../../audio/resample.ts";
import { encodeWav } from "../../audio/wav.ts";
import { splitSentences } from "../../pipeline/sentences.ts";
import type { StatusSnapshot } from "../routes.ts";
import { api, ApiError, errorMessage, friendly, isAbort } from "./api.ts";
import { loadRoles, loadVoices, roleVoice, shortName, voiceName, type RoleInfo, type VoiceCatalog } from "./catalog.ts";
import { byId, formatMs, h } from "./dom.ts";
import { MicRecorder } from "./recorder.ts";

/** The default [toy] sentence_separators. */
const SEPARATORS = "，！。？,!.?";
/** Whisper and SenseVoice work at 16 kHz: resampling here sends a third of the bytes. */
const UPLOAD_RATE = 16000;
const MAX_RECORD_SECONDS = 30;
/** The API `user` the page talks as: Hearth keeps this page's history per role under it. */
const USER = "console";
const VOICE_KEY = "hearth.voice";
const SPEAKER_KEY = "hearth.speaker";
const ROLE_KEY = "hearth.role";
// 10 ms of silence, played inside a click so that iOS lets the <audio> element play later on its own.
let silence: string | undefined;

type Input = { text: string } | { audio: Blob; name: string };

let status: StatusSnapshot | null = null;
let roles: RoleInfo[] = [];
let catalog: VoiceCatalog = { voices: [], names: [], map: {} };
let voicesLoaded = false;
/** Voice and speaker chosen here per role, over the role's own voice. */
const overrides = new Map<string, { id: string; speaker: number }>();
const recorder = new MicRecorder();
let state: "idle" | "recording" | "busy" = "idle";
let stopTimer: ReturnType<typeof setTimeout> | undefined;
let tick: ReturnType<typeof setInterval> | undefined;
/** Aborts the running turn's requests and playback. */
let turnAbort: AbortController | null = null;

const player = () => byId<HTMLAudioElement>("talk-player");
const roleSelect = () => byId<HTMLSelectElement>("talk-role");
const voiceSelect = () => byId<HTMLSelectElement>("talk-voice");
const speakerSelect = () => byId<HTMLSelectElement>("talk-speaker");

function setStatus(text: string, next?: "idle" | "recording" | "busy" | "error") {
  const el = byId("talk-status");
  el.textContent = text;
  if (next) el.dataset.state = next;
}

function setState(next: typeof state) {
  state = next;
  const button = byId<HTMLButtonElement>("talk-button");
  button.classList.toggle("recording", next === "recording");
  button.textContent = next === "recording" ? "Stop and send" : next === "busy" ? "Working…" : "Start talking";
  button.disabled = next === "busy";
  byId("talk-stop").hidden = next !== "busy";
  byId<HTMLButtonElement>("talk-form").querySelector("button")!.disabled = next !== "idle";
}

/** The status poll: until GET /v1/audio/voices answers, the voices come from the status' model list. */
export function updateTalkPage(s: StatusSnapshot) {
  status = s;
  if (!voicesLoaded && s.models.tts.length > 0) setCatalog({ voices: s.models.tts.map((id) => ({ id, language: "", speakers: 1 })), names: s.models.tts, map: {} });
}

/** Called when the Talk page is opened: (re)loads the roles and the voices. */
export async function showTalkPage() {
  const [rolesResult, voicesResult] = await Promise.allSettled([loadRoles(), loadVoices()]);
  if (voicesResult.status === "fulfilled" && voicesResult.value.voices.length) {
    voicesLoaded = true;
    setCatalog(voicesResult.value, true);
  }
  if (rolesResult.status === "fulfilled") setRoles(rolesResult.value);
  else if (roles.length === 0) setStatus(`Cannot load the roles: ${friendly(rolesResult.reason)}`, "error");
}

/** Fills the voice choice; `reapply`: set the role's voice again even when the list looks the same (speaker counts came). */
function setCatalog(next: VoiceCatalog, reapply = false) {
  catalog = next;
  const select = voiceSelect();
  const ids = next.voices.map((v) => v.id);
  if (!(select.options.length === ids.length && Array.from(select.options).every((o, i) => o.value === ids[i]))) {
    const before = select.value;
    select.replaceChildren(...next.voices.map((v) => h("option", { value: v.id }, v.language ? `${v.id} (${v.language})` : v.id)));
    if (ids.includes(before)) select.value = before;
    reapply = true;
  }
  if (reapply) applyRoleVoice();
}

function setRoles(list: RoleInfo[]) {
  roles = list;
  const select = roleSelect();
  const wanted = select.value || localStorage.getItem(ROLE_KEY) || "";
  select.replaceChildren(
    ...list.map((r) => {
      const name = shortName(r);
      return h("option", { value: r.key }, name ? `${r.key} · ${name}` : `Role ${r.key}`);
    }),
  );
  if (list.some((r) => r.key === wanted)) select.value = wanted;
  select.disabled = list.length === 0;
  applyRoleVoice();
}

function currentRole(): RoleInfo | undefined {
  return roles.find((r) => r.key === roleSelect().value);
}

/**
 * Sets voice and speaker to the role's voice (or to what was chosen here for that role); a role
 * without a voice keeps the voice chosen here.
 */
function applyRoleVoice() {
  const role = currentRole();
  const override = role ? overrides.get(role.key) : undefined;
  const picked: { id: string; speaker: number; why?: string } | null = override ?? roleVoice(role, catalog);
  const hint = byId("talk-voice-hint");
  if (picked && catalog.voices.some((v) => v.id === picked.id)) {
    voiceSelect().value = picked.id;
    fillSpeakers(picked.speaker);
    hint.textContent = override ? `Your choice for role ${role!.key}.` : `${picked.why}.`;
  } else {
    const mine = localStorage.getItem(VOICE_KEY);
    if (mine && catalog.voices.some((v) => v.id === mine)) voiceSelect().value = mine;
    fillSpeakers(Number(localStorage.getItem(SPEAKER_KEY) ?? 0));
    hint.textContent = role ? `Role ${role.key} names no voice: your choice.` : "";
  }
}

/** The user picked a voice or speaker: kept for this role (until the page reloads) and as the general choice. */
function rememberChoice() {
  localStorage.setItem(VOICE_KEY, voiceSelect().value);
  localStorage.setItem(SPEAKER_KEY, speakerSelect().value);
  const role = currentRole();
  if (role) overrides.set(role.key, { id: voiceSelect().value, speaker: Number(speakerSelect().value || 0) });
  byId("talk-voice-hint").textContent = role ? `Your choice for role ${role.key}.` : "Your choice.";
}

/** Shows the speaker choice for a multi-speaker voice (e.g. aishell3 has 174). */
function fillSpeakers(wanted: number) {
  const voice = catalog.voices.find((v) => v.id === voiceSelect().value);
  const select = speakerSelect();
  const count = voice?.speakers ?? 1;
  byId("talk-speaker-label").hidden = count <= 1;
  if (select.options.length !== count) {
    select.replaceChildren(...Array.from({ length: count }, (_, i) => h("option", { value: String(i) }, `Speaker ${i}`)));
  }
  select.value = String(Number.isInteger(wanted) && wanted >= 0 && wanted < count ? wanted : 0);
}

/** What /v1/audio/speech gets as `voice`: the chosen voice and speaker ("aishell3:12"). */
function chosenVoice(): string {
  const id = voiceSelect().value || status?.models.tts[0] || "alloy";
  return voiceName(id, Number(speakerSelect().value || 0), catalog);
}

export function setupTalkPage() {
  const hasMic = MicRecorder.available();
  byId("talk-nomic").hidden = hasMic;
  byId("talk-button").hidden = !hasMic;
  if (!hasMic) setStatus("");
  byId("talk-button").addEventListener("click", () => void toggleRecording());
  byId("talk-stop").addEventListener("click", () => stop());
  byId<HTMLInputElement>("talk-file").addEventListener("change", (e) => {
    const input = e.target as HTMLInputElement;
    const file = input.files?.[0];
    input.value = "";
    if (file && state === "idle") {
      unlockPlayer();
      void runTurn({ audio: file, name: file.name || "recording" });
    }
  });
  byId("talk-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const input = byId<HTMLInputElement>("talk-text");
    const text = input.value.trim();
    if (!text || state !== "idle") return;
    input.value = "";
    unlockPlayer();
    void runTurn({ text });
  });
  roleSelect().addEventListener("change", () => {
    localStorage.setItem(ROLE_KEY, roleSelect().value);
    applyRoleVoice();
  });
  voiceSelect().addEventListener("change", () => {
    fillSpeakers(0);
    rememberChoice();
  });
  speakerSelect().addEventListener("change", () => rememberChoice());
  byId("talk-reset").addEventListener("click", () => void startOver());
  setState("idle");
}

/** Forgets this page's conversations on Hearth (every role), so the next turn starts afresh. */
async function startOver() {
  if (state !== "idle") stop();
  if (!confirm("Start over? Hearth forgets what was said on this page (with every role) and deletes those turns from its log.")) return;
  try {
    const res = await api(`/api/history/api/${USER}`, { method: "DELETE" });
    if (!res.ok) throw new ApiError(await errorMessage(res), res.status);
    byId("talk-log").replaceChildren();
    setStatus("New conversation: Hearth has forgotten the earlier one.", "idle");
  } catch (e) {
    setStatus(friendly(e), "error");
  }
}

function stop() {
  if (state === "recording") {
    clearTimeout(stopTimer);
    clearInterval(tick);
    void recorder.stop();
    setState("idle");
    setStatus("Stopped.", "idle");
    return;
  }
  turnAbort?.abort();
  const audio = player();
  audio.pause();
}

function unlockPlayer() {
  silence ??= URL.createObjectURL(new Blob([encodeWav(new Float32Array(160), UPLOAD_RATE) as BlobPart], { type: "audio/wav" }));
  const audio = player();
  audio.src = silence;
  audio.play().catch(() => {});
}

async function toggleRecording() {
  if (state === "idle") {
    unlockPlayer();
    try {
      await recorder.start();
    } catch (e) {
      setStatus(`Cannot use the microphone: ${(e as Error).message}`, "error");
      return;
    }
    setState("recording");
    setStatus("Listening… press again when you are done.", "recording");
    tick = setInterval(() => setStatus(`Listening… ${recorder.seconds.toFixed(0)} s`), 500);
    stopTimer = setTimeout(() => void toggleRecording(), MAX_RECORD_SECONDS * 1000);
  } else if (state === "recording") {
    clearTimeout(stopTimer);
    clearInterval(tick);
    setState("busy");
    const { samples, sampleRate } = await recorder.stop();
    const wav = encodeWav(resample(samples, sampleRate, UPLOAD_RATE), UPLOAD_RATE);
    await runTurn({ audio: new Blob([wav as BlobPart], { type: "audio/wav" }), name: "speech.wav" });
  }
}

interface Timings {
  sttMs?: number;
  firstTokenMs?: number;
  firstAudioMs?: number;
  totalMs?: number;
}

function bubble(role: "user" | "assistant", text: string) {
  const el = h("div", { class: `bubble ${role}` }, h("span", { class: "text" }, text));
  byId("talk-log").append(el);
  el.scrollIntoView({ block: "nearest" });
  return el;
}

async function runTurn(input: Input) {
  setState("busy");
  const controller = new AbortController();
  turnAbort = controller;
  const signal = controller.signal;
  const t0 = performance.now();
  const timings: Timings = {};
  let reply: HTMLElement | null = null;
  try {
    let text: string;
    if ("text" in input) {
      text = input.text;
    } else {
      setStatus("Transcribing…", "busy");
      const form = new FormData();
      form.append("file", input.audio, input.name);
      form.append("model", "whisper-1");
      const res = await api("/v1/audio/transcriptions", { method: "POST", body: form, signal });
      if (!res.ok) throw new ApiError(await errorMessage(res), res.status);
      text = ((await res.json()) as { text: string }).text.trim();
      timings.sttMs = performance.now() - t0;
    }
    if (!text) {
      setStatus("I heard nothing. Try again a little closer to the microphone.", "idle");
      return;
    }
    bubble("user", text).dataset.role = "transcript";
    reply = bubble("assistant", "");
    const role = currentRole();
    const voice = chosenVoice();
    reply.prepend(h("small", { class: "who" }, role ? `Role ${role.key} · ${voice}` : voice));
    if (role) reply.dataset.roleKey = role.key;
    const replyText = reply.querySelector(".text")!;
    setStatus("Thinking…", "busy");

    const chatStart = performance.now();
    // role:N: Hearth applies the role's persona and keeps the history (per role, under `user`),
    // so only the new message is sent. Without roles, the plain model answers this one message.
    const res = await api("/v1/chat/completions", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ model: role ? `role:${role.key}` : status?.models.llm || "gpt-4o-mini", messages: [{ role: "user", content: text }], stream: true, user: USER }),
      signal,
    });
    if (!res.ok || !res.body) throw new ApiError(await errorMessage(res), res.status);

    let full = "";
    const bubbleEl = reply;
    async function* deltas() {
      for await (const delta of chatDeltas(res.body!, (id) => (bubbleEl.dataset.turn = id))) {
        timings.firstTokenMs ??= performance.now() - chatStart;
        full += delta;
        replyText.textContent = full;
        yield delta;
      }
    }
    const speaker = new Speaker(reply, voice, role?.speed, signal, () => {
      timings.firstAudioMs ??= performance.now() - t0;
      setStatus("Speaking…", "busy");
    });
    for await (const sentence of splitSentences(deltas(), SEPARATORS)) speaker.say(sentence);
    const failures = await speaker.finished();
    if (signal.aborted) throw signal.reason;
    timings.totalMs = performance.now() - t0;
    reply.append(timingList(timings));
    reply.dataset.done = "true";
    setStatus(failures ? `Done, but ${failures} sentence(s) could not be spoken.` : "Done. Press the button to talk again.", "idle");
  } catch (e) {
    if (signal.aborted || isAbort(e)) {
      if (reply) {
        reply.dataset.stopped = "true";
        reply.append(h("small", { class: "muted stopped" }, " (stopped)"));
      }
      setStatus("Stopped.", "idle");
    } else {
      setStatus(`Something went wrong: ${friendly(e)}`, "error");
    }
  } finally {
    if (turnAbort === controller) turnAbort = null;
    setState("idle");
  }
}

function timingList(t: Timings) {
  const items: [string, number | undefined][] = [
    ["STT", t.sttMs],
    ["first token", t.firstTokenMs],
    ["first audio", t.firstAudioMs],
    ["total", t.totalMs],
  ];
  return h("ul", { class: "timings" }, ...items.filter(([, v]) => v !== undefined).map(([k, v]) => h("li", {}, `${k} ${formatMs(v)}`)));
}

/** The content deltas of an OpenAI chat.completion.chunk SSE stream; onId gets the completion id (= the turn's id). */
async function* chatDeltas(body: ReadableStream<Uint8Array>, onId: (id: string) => void): AsyncIterable<string> {
  const reader = body.pipeThrough(new TextDecoderStream() as unknown as TransformStream<Uint8Array, string>).getReader();
  let buffer = "";
  let sawId = false;
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value;
      let newline: number;
      while ((newline = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, newline).replace(/\r$/, "");
        buffer = buffer.slice(newline + 1);
        if (!line.startsWith("data:")) continue; // blank lines and ": keep-alive" comments
        const data = line.slice(5).trim();
        if (data === "[DONE]") return;
        const chunk = JSON.parse(data);
        if (chunk.error) throw new ApiError(chunk.error.message ?? "the reply failed", 500);
        if (!sawId && typeof chunk.id === "string") {
          sawId = true;
          onId(chunk.id);
        }
        const delta = chunk.choices?.[0]?.delta?.content;
        if (delta) yield delta;
      }
    }
  } finally {
    reader.cancel().catch(() => {});
  }
}

/**
 * Speaks sentences in order. One TTS request at a time (the Pi synthesizes one sentence at a
 * time anyway), started as soon as its sentence is complete, while earlier ones play.
 */
class Speaker {
  private synthesis: Promise<unknown> = Promise.resolve();
  private playback: Promise<unknown> = Promise.resolve();
  private failures = 0;
  private count = 0;

  constructor(
    private readonly bubble: HTMLElement,
    private readonly voice: string,
    private readonly speed: number | undefined,
    private readonly signal: AbortSignal,
    private readonly onFirstAudio: () => void,
  ) {
    bubble.dataset.voice = voice;
  }

  say(text: string) {
    const order = ++this.count;
    const audio = this.synthesis.then(() => synthesize(text, this.voice, this.speed, this.signal));
    this.synthesis = audio.catch(() => {});
    this.playback = this.playback.then(async () => {
      let url: string;
      try {
        url = await audio;
      } catch {
        if (!this.signal.aborted) this.failures++;
        return;
      }
      if (this.signal.aborted) return;
      this.bubble.append(replayButton(order, text, url));
      this.onFirstAudio();
      await play(url, this.signal);
    });
  }

  async finished(): Promise<number> {
    await this.playback;
    return this.failures;
  }
}

async function synthesize(input: string, voice: string, speed: number | undefined, signal: AbortSignal): Promise<string> {
  const res = await api("/v1/audio/speech", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ model: "tts-1", input, voice, response_format: "mp3", stream_format: "audio", ...(speed ? { speed } : {}) }),
    signal,
  });
  if (!res.ok) throw new ApiError(await errorMessage(res), res.status);
  return URL.createObjectURL(await res.blob());
}

/** Plays one clip on the shared <audio> element; resolves when it ends, cannot play, or is stopped. */
function play(url: string, signal?: AbortSignal): Promise<void> {
  const audio = player();
  return new Promise<void>((resolve) => {
    let settled = false;
    const done = (outcome: "played" | "failed" | "stopped") => {
      if (settled) return;
      settled = true;
      audio.onended = audio.onerror = null;
      signal?.removeEventListener("abort", onAbort);
      audio.dataset[outcome] = String(Number(audio.dataset[outcome] ?? 0) + 1);
      resolve();
    };
    const onAbort = () => {
      audio.pause();
      done("stopped");
    };
    if (signal?.aborted) return resolve();
    signal?.addEventListener("abort", onAbort, { once: true });
    audio.onended = () => done("played");
    audio.onerror = () => done("failed");
    audio.src = url;
    audio.play().catch(() => {
      if (!signal?.aborted) done("failed");
    });
  });
}

function replayButton(order: number, text: string, url: string) {
  const button = h("button", { class: "play secondary", type: "button", title: `Play again: ${text}` }, `▶ ${order}`);
  button.addEventListener("click", () => void play(url));
  return button;
}
