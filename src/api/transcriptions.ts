// POST /v1/audio/transcriptions (multipart/form-data), in every response_format OpenAI has.
import { z } from "zod";
import { decodeAudio } from "../audio/decode.ts";
import { BadRequest, Busy, TooLarge } from "../errors.ts";
import { Gate } from "../util/gate.ts";
import type { Transcript, TranscriptSegment } from "../engines/types.ts";
import { metrics } from "../metrics.ts";
import { checkLength, validate } from "../http/body.ts";
import type { ApiDeps } from "./deps.ts";
import { sseResponseAfterFirstEvent } from "../http/sse.ts";

const fields = z.object({
  model: z.string().min(1),
  language: z.string().optional(),
  prompt: z.string().optional(),
  response_format: z.enum(["json", "text", "srt", "vtt", "verbose_json"]).default("json"),
  temperature: z.coerce.number().min(0).max(1).optional(),
  stream: z.enum(["true", "false"]).optional(),
  "timestamp_granularities[]": z.array(z.enum(["segment", "word"])).optional(),
});

/**
 * POST /v1/audio/translations: English text from speech in any language the model knows. Only a
 * model that can translate (multilingual Whisper) does; others get a 400 saying so, before the
 * upload is read.
 */
export async function translations(req: Request, deps: ApiDeps): Promise<Response> {
  const { stt } = deps.engines();
  if (!stt.canTranslate) {
    throw new BadRequest(
      `The installed speech model (${stt.id}) cannot translate: /v1/audio/translations needs a multilingual Whisper model. Use /v1/audio/transcriptions for text in the spoken language.`,
      "model",
      "translation_unsupported",
    );
  }
  return transcriptions(req, deps, "translate");
}

export async function transcriptions(req: Request, deps: ApiDeps, task: "transcribe" | "translate" = "transcribe"): Promise<Response> {
  const maxBytes = deps.config.http.max_upload_mb * 1e6;
  checkLength(req, maxBytes);
  const type = req.headers.get("content-type") ?? "";
  if (!type.includes("multipart/form-data")) throw new BadRequest("Send the audio as multipart/form-data with a 'file' field.", "file");
  let form: FormData;
  try {
    form = await req.formData();
  } catch {
    throw new BadRequest("Could not parse the multipart/form-data body.", "file");
  }
  const file = form.get("file");
  if (!(file instanceof Blob)) throw new BadRequest("Missing required parameter: 'file'.", "file");
  if (file.size > maxBytes) throw new TooLarge(`The file is ${(file.size / 1e6).toFixed(1)} MB; the limit is ${deps.config.http.max_upload_mb} MB.`, "file");
  const granularities = form.getAll("timestamp_granularities[]").concat(form.getAll("timestamp_granularities")).map(String);
  const params = validate(fields, {
    model: form.get("model") ?? undefined,
    language: form.get("language") ?? undefined,
    prompt: form.get("prompt") ?? undefined,
    response_format: form.get("response_format") || undefined,
    temperature: form.get("temperature") ?? undefined,
    stream: form.get("stream") ?? undefined,
    "timestamp_granularities[]": granularities.length ? granularities : undefined,
  });
  if (params["timestamp_granularities[]"] && params.response_format !== "verbose_json") {
    throw new BadRequest("timestamp_granularities[] is only supported with response_format=verbose_json.", "timestamp_granularities[]");
  }
  const engines = deps.engines();
  const language = params.language && params.language !== "auto" ? params.language.toLowerCase() : undefined;
  if (language && !engines.stt.languages.includes(language)) {
    throw new BadRequest(`The installed speech model (${engines.stt.id}) does not transcribe "${language}"; it supports: ${engines.stt.languages.join(", ")}.`, "language");
  }
  // Decoded audio is the large part of an upload (up to max_audio_seconds at 16 kHz, 64 kB a
  // second): only UPLOADS_AT_ONCE are decoded or transcribed at a time, a few wait, more are a 429.
  const release = await uploads.enter(req.signal);
  let handedOver = false;
  try {
    const name = file instanceof File ? file.name : undefined;
    // Refused from the header when the container says how long it is, else as soon as decoding passes the limit.
    const audio = await decodeAudio(new Uint8Array(await file.arrayBuffer()), {
      filename: name,
      contentType: file.type,
      maxSeconds: deps.config.http.max_audio_seconds,
      maxSampleRate: STT_RATE,
    });
    handedOver = params.stream === "true";
    return await transcribe(req, engines, audio, language, task, params, release);
  } finally {
    if (!handedOver) release();
  }
}

/** Speech recognizers work at 16 kHz: uploads are decoded at that rate at most (less memory, same text). */
const STT_RATE = 16000;
const UPLOADS_AT_ONCE = 1;
const UPLOADS_WAITING = 3;

const uploads = new Gate(UPLOADS_AT_ONCE, UPLOADS_WAITING, (busy) => new Busy(`${busy} transcriptions are already in progress or waiting; try again shortly`));

async function transcribe(
  req: Request,
  engines: ReturnType<ApiDeps["engines"]>,
  audio: { samples: Float32Array; sampleRate: number },
  language: string | undefined,
  task: "transcribe" | "translate",
  params: z.infer<typeof fields>,
  release: () => void,
): Promise<Response> {
  const started = performance.now();
  if (params.stream === "true") {
    // The 200 waits for the first segment, so a recognizer that turns the request away (its queue
    // is full) still answers 429. Each segment goes out as soon as it is recognized; the deltas
    // concatenate exactly to the final text (segments are joined by one space).
    return sseResponseAfterFirstEvent(req, async (sse) => {
      try {
        let sent = "";
        const delta = (text: string) => {
          if (!text) return;
          sent += text;
          sse.send({ type: "transcript.text.delta", delta: text });
        };
        const result = await engines.stt.transcribe(audio.samples, audio.sampleRate, {
          language,
          task,
          signal: sse.signal,
          onSegment: (segment) => delta((sent ? " " : "") + segment.text),
        });
        if (result.text.startsWith(sent)) delta(result.text.slice(sent.length)); // whatever came without a segment
        sse.send({ type: "transcript.text.done", text: result.text });
        metrics.observeStage("stt", (performance.now() - started) / 1000, "api");
      } finally {
        release();
      }
    });
  }

  const result = await engines.stt.transcribe(audio.samples, audio.sampleRate, { language, task, signal: req.signal });
  metrics.observeStage("stt", (performance.now() - started) / 1000, "api");
  return formatTranscript(result, params.response_format, params["timestamp_granularities[]"] ?? ["segment"]);
}

function formatTranscript(t: Transcript, format: string, granularities: string[]): Response {
  switch (format) {
    case "text":
      return new Response(t.text + "\n", { headers: { "Content-Type": "text/plain; charset=utf-8" } });
    case "srt":
      return new Response(toSrt(t.segments), { headers: { "Content-Type": "text/plain; charset=utf-8" } });
    case "vtt":
      return new Response(toVtt(t.segments), { headers: { "Content-Type": "text/vtt; charset=utf-8" } });
    case "verbose_json":
      return Response.json({
        task: "transcribe",
        language: languageName(t.language),
        duration: round(t.duration),
        text: t.text,
        ...(granularities.includes("segment") ? { segments: t.segments.map(verboseSegment) } : {}),
        ...(granularities.includes("word") ? { words: t.segments.flatMap(segmentWords) } : {}),
        usage: durationUsage(t),
      });
    default:
      return Response.json({ text: t.text, usage: durationUsage(t) });
  }
}

/** What whisper-1 bills, as OpenAI reports it: whole seconds of audio (the AI SDK reads it as the duration). */
function durationUsage(t: Transcript) {
  return { type: "duration", seconds: Math.ceil(t.duration) };
}

function verboseSegment(s: TranscriptSegment, id: number) {
  return {
    id,
    seek: Math.round(s.start * 100),
    start: round(s.start),
    end: round(s.end),
    text: " " + s.text,
    tokens: [],
    temperature: 0,
    avg_logprob: 0,
    compression_ratio: 1,
    no_speech_prob: 0,
  };
}

/** The segment's timed words (see engines/stt/timing.ts), rounded as the other times are. */
function segmentWords(s: TranscriptSegment) {
  if (!s.words) return estimateWords(s);
  return s.words.map((w) => ({ word: w.word, start: round(w.start), end: round(w.end) }));
}

/**
 * For a segment without word times (a remote recognizer that sent none): its words spread over
 * it in proportion to their length.
 */
function estimateWords(s: TranscriptSegment) {
  const words = s.text.split(/\s+/).filter(Boolean);
  const total = words.reduce((n, w) => n + w.length, 0) || 1;
  let at = s.start;
  return words.map((word) => {
    const length = ((s.end - s.start) * word.length) / total;
    const w = { word: word.replace(/^[^\p{L}\p{N}]+|[^\p{L}\p{N}]+$/gu, ""), start: round(at), end: round(at + length) };
    at += length;
    return w;
  });
}

function toSrt(segments: TranscriptSegment[]): string {
  return segments.map((s, i) => `${i + 1}\n${clock(s.start, ",")} --> ${clock(s.end, ",")}\n${s.text}\n`).join("\n");
}

function toVtt(segments: TranscriptSegment[]): string {
  return "WEBVTT\n\n" + segments.map((s) => `${clock(s.start, ".")} --> ${clock(s.end, ".")}\n${s.text}\n`).join("\n");
}

function clock(seconds: number, fractionMark: string): string {
  const ms = Math.round(seconds * 1000);
  const pad = (n: number, w = 2) => String(n).padStart(w, "0");
  return `${pad(Math.floor(ms / 3600000))}:${pad(Math.floor(ms / 60000) % 60)}:${pad(Math.floor(ms / 1000) % 60)}${fractionMark}${pad(ms % 1000, 3)}`;
}

const round = (n: number) => Math.round(n * 100) / 100;

const LANGUAGE_NAMES: Record<string, string> = { en: "english", zh: "chinese", ja: "japanese", ko: "korean", yue: "cantonese", de: "german", fr: "french", es: "spanish" };
function languageName(code: string): string {
  return LANGUAGE_NAMES[code] ?? code;
}
