// One conversational turn with a toy (toy-protocol.md §4), streamed: recording -> STT -> LLM ->
// sentences -> TTS -> MP3 -> audioplay, each sentence announced the moment it is ready.
import type { Engines } from "../engines/index.ts";
import type { ChatMessage, ChatOptions } from "../engines/types.ts";
import { s16leToFloat } from "../audio/pcm.ts";
import { encodeWav } from "../audio/wav.ts";
import { Cancelled } from "../errors.ts";
import { logger } from "../log.ts";
import { metrics } from "../metrics.ts";
import { speakReply } from "../pipeline/reply.ts";
import type { TurnRecord } from "../pipeline/types.ts";
import { toyMp3, type AudioStore } from "./audio-store.ts";
import type { Role } from "./roles.ts";
import { MESSAGE_OVERHEAD_TOKENS, selectHistory, type Exchange } from "./sessions.ts";
import { TOY_SAMPLE_RATE, type Recording } from "./udp.ts";

const log = logger("toy");

/** A turn record with, per sentence, when its audio was ready and when its audioplay went out (ms after end of speech). */
export interface ToyTurnRecord extends TurnRecord {
  sentences: { order: number; text: string; url?: string; readyMs?: number; sentMs?: number }[];
}

export interface MessagesInput {
  role: Role;
  /** [toy] system_prompt (the role's own system_prompt wins). */
  systemPrompt: string;
  history: readonly Exchange[];
  transcript: string;
  countTokens: (text: string) => number;
  /** Tokens the prompt may take: the conversation's share of the context minus the reply's max tokens. */
  budgetTokens: number;
}

/**
 * [system, user: role.prompt, assistant: role.start_text] (unless send_initial_messages is false),
 * then the newest earlier exchanges that fit both max_message_count and the token budget, then the transcript.
 */
export function buildMessages(input: MessagesInput): { messages: ChatMessage[]; historyUsed: number } {
  const { role, transcript, countTokens } = input;
  const head: ChatMessage[] = [];
  if (role.send_initial_messages !== false) {
    const system = role.system_prompt ?? input.systemPrompt;
    if (system.trim()) head.push({ role: "system", content: system });
    if (role.prompt.trim()) head.push({ role: "user", content: role.prompt });
    if (role.start_text?.trim()) head.push({ role: "assistant", content: role.start_text });
  }
  const last: ChatMessage = { role: "user", content: transcript };
  const fixed = [...head, last].reduce((n, m) => n + countTokens(m.content) + MESSAGE_OVERHEAD_TOKENS, 0);
  const history = selectHistory(input.history, role.max_message_count ?? 0, input.budgetTokens - fixed, countTokens);
  const messages = [...head, ...history.flatMap((e): ChatMessage[] => [{ role: "user", content: e.user }, { role: "assistant", content: e.assistant }]), last];
  return { messages, historyUsed: history.length };
}

/** The chat options a role asks for. */
export function chatOptions(role: Role, conversationId: string): ChatOptions {
  return {
    maxTokens: role.max_tokens,
    temperature: role.temperature,
    topP: role.top_p,
    frequencyPenalty: role.frequency_penalty,
    presencePenalty: role.presence_penalty,
    grammar: role.grammar,
    conversationId,
  };
}

export interface TurnContext {
  engines: Pick<Engines, "stt" | "llm" | "tts">;
  store: AudioStore;
  sn: string;
  roleKey: string;
  role: Role;
  voice: string;
  recording: Recording;
  messages: (transcript: string) => ChatMessage[];
  separators: string;
  /** Cancels the turn (a newer recording, a role switch, the reply timeout, shutdown). */
  signal: AbortSignal;
  /** Sends a command to the toy. */
  send(identifier: string, params: Record<string, unknown>): void;
  /** Publishes an integration-mirror event, when enabled. */
  mirror?(identifier: string, params: Record<string, unknown>): void;
  /** Public URL of a stored file. */
  url(name: string): string;
  /** Called once the first audioplay is out (the reply timeout no longer applies). */
  onFirstAudio?(): void;
}

/** Runs a turn and resolves with its record (empty transcript and reply: no speech heard). Never rejects. */
export async function runTurn(ctx: TurnContext): Promise<ToyTurnRecord> {
  const { recording, sn, signal } = ctx;
  const t0 = recording.endedAt;
  const since = () => Date.now() - t0;
  const record: ToyTurnRecord = {
    id: `${sn}-${recording.recordingId}-${t0}`,
    source: "toy",
    sn,
    role: ctx.roleKey,
    at: t0,
    transcript: "",
    reply: "",
    sentences: [],
    timings: {},
  };
  const checkCancelled = () => {
    if (signal.aborted) throw signal.reason instanceof Error ? signal.reason : new Cancelled();
  };
  try {
    // 1. speech -> text
    const samples = s16leToFloat(recording.pcm);
    const transcript = await ctx.engines.stt.transcribe(samples, TOY_SAMPLE_RATE, { signal, language: ctx.role.language ?? undefined });
    record.timings.sttMs = since();
    metrics.observeStage("stt", record.timings.sttMs / 1000, "toy");
    checkCancelled();
    const text = transcript.text.trim();
    if (!text) {
      log.info("recording held no speech: no reply", { sn, recordingId: recording.recordingId, seconds: +(samples.length / TOY_SAMPLE_RATE).toFixed(2), sttMs: record.timings.sttMs });
      record.timings.totalMs = since();
      return record; // kept, so the console shows that the toy was heard but said nothing
    }
    record.transcript = text;
    log.info("heard", { sn, recordingId: recording.recordingId, text, sttMs: record.timings.sttMs });
    if (ctx.mirror) {
      const wav = await ctx.store.save("recording", encodeWav(samples, TOY_SAMPLE_RATE), "wav");
      ctx.mirror("recording_transcribed", { recordingId: recording.recordingId, recordingUrl: ctx.url(wav), recordingText: text });
    }

    // 2. text -> streamed reply (the model and the voice keep going) -> MP3 -> audioplay, in order
    const spoken = speakReply(ctx.engines, ctx.messages(text), {
      chat: {
        ...chatOptions(ctx.role, sn),
        signal,
        onPromptDone: () => {
          record.timings.firstTokenMs ??= since();
        },
      },
      voice: ctx.voice,
      speed: ctx.role.speed,
      separators: ctx.separators,
      signal,
    });
    const texts: string[] = [];
    for await (const s of spoken) {
      const mp3 = await toyMp3(s.audio);
      checkCancelled();
      const name = await ctx.store.save("voice", mp3);
      checkCancelled();
      const url = ctx.url(name);
      ctx.send("audioplay", { recordingId: recording.recordingId, order: s.order, url });
      const sentMs = since();
      if (s.order === 1) {
        record.timings.firstAudioMs = sentMs;
        metrics.observeStage("first_audio", sentMs / 1000, "toy");
        ctx.onFirstAudio?.();
      }
      record.sentences.push({ order: s.order, text: s.text, url, readyMs: s.readyAt - t0, sentMs });
      texts.push(s.text);
      ctx.mirror?.("voice_generated", { recordingId: recording.recordingId, order: s.order, voiceText: s.text, voiceUrl: url, role: Number(ctx.roleKey), resultCode: 1 });
      log.debug("audioplay", { sn, recordingId: recording.recordingId, order: s.order, url, ms: sentMs });
    }
    checkCancelled();
    record.reply = texts.join(" ");
    if (texts.length) ctx.send("audioplay_cmd", { recordingId: recording.recordingId, total: texts.length });
    else log.warn("the model produced nothing to say", { sn, recordingId: recording.recordingId });
    record.timings.totalMs = since();
    if (record.timings.firstTokenMs !== undefined) metrics.observeStage("llm_first_token", record.timings.firstTokenMs / 1000, "toy");
    metrics.observeStage("total", record.timings.totalMs / 1000, "toy");
    metrics.countTurn("toy");
    log.info("replied", { sn, recordingId: recording.recordingId, sentences: texts.length, ...record.timings });
    return record;
  } catch (e) {
    record.timings.totalMs = since();
    if (signal.aborted) {
      const why = signal.reason instanceof Error ? signal.reason.message : "cancelled";
      record.error = `cancelled: ${why}`;
      log.info("turn cancelled", { sn, recordingId: recording.recordingId, why, sentencesSent: record.sentences.length });
    } else {
      record.error = (e as Error).message ?? String(e);
      metrics.countError("toy_turn");
      log.error("turn failed", { sn, recordingId: recording.recordingId, error: record.error });
    }
    return record;
  }
}
