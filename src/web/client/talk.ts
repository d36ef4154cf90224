// Talk page: microphone -> /v1/audio/transcriptions -> /v1/chat/completions (streamed) ->
// /v1/audio/speech per sentence -> play. The same OpenAI routes any client uses; the console
// is just another client. Each sentence is sent to TTS the moment it is complete, so the first
// one plays while the model is still writing the rest.
import { resample } from "../../audio/resample.ts";
import { encodeWav } from "../../audio/wav.ts";
import { splitSentences } from "../../pipeline/sentences.ts";
import type { StatusSnapshot } from "../routes.ts";
import { api, ApiError, errorMessage } from "./api.ts";
import { byId, formatMs, h } from "./dom.ts";
import { MicRecorder } from "./recorder.ts";

/** The default [toy] sentence_separators. */
const SEPARATORS = "，！。？,!.?";
/** Whisper and SenseVoice work at 16 kHz: resampling here sends a third of the bytes. */
const UPLOAD_RATE = 16000;
const MAX_RECORD_SECONDS = 30;
/** Messages of earlier turns sent along (the server bounds the context by tokens anyway). */
const HISTORY_MESSAGES = 12;
const VOICE_KEY = "hearth.voice";
// 10 ms of silence, played inside a click so that iOS lets the <audio> element play later on its own.
let silence: string | undefined;

type Message = { role: "user" | "assistant"; content: string };
type Input = { text: string } | { audio: Blob; name: string };

let status: StatusSnapshot | null = null;
const history: Message[] = [];
const recorder = new MicRecorder();
let state: "idle" | "recording" | "busy" = "idle";
let stopTimer: ReturnType<typeof setTimeout> | undefined;
let tick: ReturnType<typeof setInterval> | undefined;

const player = () => byId<HTMLAudioElement>("talk-player");

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
  byId<HTMLButtonElement>("talk-form").querySelector("button")!.disabled = next !== "idle";
}

export function updateTalkPage(s: StatusSnapshot) {
  status = s;
  const select = byId<HTMLSelectElement>("talk-voice");
  const voices = s.models.tts;
  if (select.options.length === voices.length && Array.from(select.options).every((o, i) => o.value === voices[i])) return;
  const wanted = localStorage.getItem(VOICE_KEY) ?? select.value;
  select.replaceChildren(...voices.map((v) => h("option", { value: v }, v)));
  if (voices.includes(wanted)) select.value = wanted;
}

export function setupTalkPage() {
  const hasMic = MicRecorder.available();
  byId("talk-nomic").hidden = hasMic;
  byId("talk-button").hidden = !hasMic;
  if (!hasMic) setStatus("");
  byId("talk-button").addEventListener("click", () => void toggleRecording());
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
  byId("talk-voice").addEventListener("change", (e) => localStorage.setItem(VOICE_KEY, (e.target as HTMLSelectElement).value));
  byId("talk-reset").addEventListener("click", () => {
    history.length = 0;
    byId("talk-log").replaceChildren();
    setStatus("New conversation.", "idle");
  });
  setState("idle");
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
  const t0 = performance.now();
  const timings: Timings = {};
  try {
    let text: string;
    if ("text" in input) {
      text = input.text;
    } else {
      setStatus("Transcribing…", "busy");
      const form = new FormData();
      form.append("file", input.audio, input.name);
      form.append("model", "whisper-1");
      const res = await api("/v1/audio/transcriptions", { method: "POST", body: form });
      if (!res.ok) throw new ApiError(await errorMessage(res), res.status);
      text = ((await res.json()) as { text: string }).text.trim();
      timings.sttMs = performance.now() - t0;
    }
    if (!text) {
      setStatus("I heard nothing. Try again a little closer to the microphone.", "idle");
      return;
    }
    bubble("user", text).dataset.role = "transcript";
    history.push({ role: "user", content: text });
    const reply = bubble("assistant", "");
    const replyText = reply.querySelector(".text")!;
    setStatus("Thinking…", "busy");

    const chatStart = performance.now();
    const res = await api("/v1/chat/completions", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      // `user` is OpenAI's end-user field: it marks these turns as the console's
      body: JSON.stringify({ model: status?.models.llm || "gpt-4o-mini", messages: history.slice(-HISTORY_MESSAGES), stream: true, user: "web-console" }),
    });
    if (!res.ok || !res.body) throw new ApiError(await errorMessage(res), res.status);

    let full = "";
    async function* deltas() {
      for await (const delta of chatDeltas(res.body!)) {
        timings.firstTokenMs ??= performance.now() - chatStart;
        full += delta;
        replyText.textContent = full;
        yield delta;
      }
    }
    const speaker = new Speaker(reply, () => {
      timings.firstAudioMs ??= performance.now() - t0;
      setStatus("Speaking…", "busy");
    });
    for await (const sentence of splitSentences(deltas(), SEPARATORS)) speaker.say(sentence);
    history.push({ role: "assistant", content: full });
    const failures = await speaker.finished();
    timings.totalMs = performance.now() - t0;
    reply.append(timingList(timings));
    reply.dataset.done = "true";
    setStatus(failures ? `Done, but ${failures} sentence(s) could not be spoken.` : "Done. Press the button to talk again.", "idle");
  } catch (e) {
    setStatus(`Something went wrong: ${(e as Error).message}`, "error");
  } finally {
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

/** The content deltas of an OpenAI chat.completion.chunk SSE stream. */
async function* chatDeltas(body: ReadableStream<Uint8Array>): AsyncIterable<string> {
  const reader = body.pipeThrough(new TextDecoderStream() as unknown as TransformStream<Uint8Array, string>).getReader();
  let buffer = "";
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
    private readonly onFirstAudio: () => void,
  ) {}

  say(text: string) {
    const order = ++this.count;
    const voice = byId<HTMLSelectElement>("talk-voice").value || status?.models.tts[0] || "alloy";
    const audio = this.synthesis.then(() => synthesize(text, voice));
    this.synthesis = audio.catch(() => {});
    this.playback = this.playback.then(async () => {
      let url: string;
      try {
        url = await audio;
      } catch {
        this.failures++;
        return;
      }
      this.bubble.append(replayButton(order, text, url));
      this.onFirstAudio();
      await play(url);
    });
  }

  async finished(): Promise<number> {
    await this.playback;
    return this.failures;
  }
}

async function synthesize(input: string, voice: string): Promise<string> {
  const res = await api("/v1/audio/speech", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ model: "tts-1", input, voice, response_format: "mp3", stream_format: "audio" }),
  });
  if (!res.ok) throw new ApiError(await errorMessage(res), res.status);
  return URL.createObjectURL(await res.blob());
}

/** Plays one clip on the shared <audio> element; resolves when it ends (or cannot play). */
function play(url: string): Promise<void> {
  const audio = player();
  return new Promise<void>((resolve) => {
    const done = (outcome: "played" | "failed") => {
      audio.onended = audio.onerror = null;
      audio.dataset[outcome] = String(Number(audio.dataset[outcome] ?? 0) + 1);
      resolve();
    };
    audio.onended = () => done("played");
    audio.onerror = () => done("failed");
    audio.src = url;
    audio.play().catch(() => done("failed"));
  });
}

function replayButton(order: number, text: string, url: string) {
  const button = h("button", { class: "play secondary", type: "button", title: `Play again: ${text}` }, `▶ ${order}`);
  button.addEventListener("click", () => void play(url));
  return button;
}
