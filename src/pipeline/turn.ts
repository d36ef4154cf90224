// One conversation turn as a stream of events: audio (or text) -> STT -> prompt (persona +
// history + transcript) -> streamed LLM -> sentences -> TTS. Every front end drives this and
// translates the events into its own protocol; timings and metrics are recorded here, once.
import { conversationFileStem, conversationId } from "../conversations/key.ts";
import type { Engines } from "../engines/types.ts";
import { Busy, Cancelled } from "../errors.ts";
import { logger } from "../log.ts";
import { metrics } from "../metrics.ts";
import type { Pause } from "./controls.ts";
import type { LineKind, SpokenLines } from "./lines.ts";
import { lineText } from "./lines.ts";
import { checkInput, safetyLine, type SafetyPolicy, type SafetyVerdict } from "./safety/index.ts";
import { buildMessages, roleChatOptions, type Exchange } from "./prompt.ts";
import type { Role } from "./roles.ts";
import { replySentences, synthesizeAhead, type Voiced } from "./speak.ts";
import { offeredTools, replyWithTools, toolPromptTokens } from "./tool-loop.ts";
import { checkedReply } from "./checked-reply.ts";
import { CLAUSE_MARKS } from "./sentences.ts";
import type { TurnEvent, TurnRecord, TurnRequest } from "./types.ts";

const log = logger("turn");

export interface TurnSettings {
  /** [toy] system_prompt (a role's own system_prompt wins). */
  systemPrompt: string;
  /** [toy] sentence_separators. */
  separators: string;
  /** [toy] first_clause_words: words a first clause needs to be spoken before its sentence ends; 0 = off. */
  firstClauseWords: number;
  /** [toy] reply_max_tokens: a reply's length when neither the request nor the role sets one. */
  maxTokens: number;
  /** [toy] heard_nothing_reply: a recording with no speech gets "I didn't catch that". */
  heardNothingLine: boolean;
}

/** Everything one turn needs, resolved by the runner. */
export interface TurnContext {
  engines: Pick<Engines, "stt" | "llm" | "tts">;
  lines: SpokenLines;
  settings: TurnSettings;
  request: TurnRequest;
  record: TurnRecord;
  role: Role;
  /** "id:speaker" of the role's voice. */
  voice: string;
  /** The language Hearth's own lines are said in: the role's, else its voice's. */
  language: string;
  /** The conversation so far, oldest first. */
  history: readonly Exchange[];
  /** The safety policy of this turn: the parent's settings, made stricter by the role's. */
  safety: SafetyPolicy;
  /** Set when the parent's controls say the device must not talk now. */
  pause?: Pause;
  /** Aborted by a newer turn, the reply timeout, the front end or shutdown; its reason says which. */
  signal: AbortSignal;
}

/** Runs the turn. Never throws: the last event is `done` or `failed`, with the record filled in. */
export async function* runTurn(ctx: TurnContext): AsyncGenerator<TurnEvent> {
  const { request, record, signal, engines } = ctx;
  const since = () => Date.now() - request.endedAt;
  const speak = request.speak !== false;
  const checkCancelled = () => {
    if (signal.aborted) throw signal.reason instanceof Error ? signal.reason : new Cancelled();
  };
  let spoken = 0;
  try {
    if (ctx.pause) {
      // The parent said not now: nothing is transcribed, the child hears a kind line.
      record.outcome = "paused";
      if (request.input.kind === "listening") request.input.listening.cancel();
      record.explanation = PAUSE_EXPLANATIONS[ctx.pause];
      if (speak) {
        yield await lineEvent(ctx, lineText(ctx.pause, ctx.language), 1);
        spoken++;
      }
      record.timings.totalMs = since();
      yield { type: "done", record };
      return;
    }
    // 1. speech -> text
    let text: string;
    if (request.input.kind === "audio") {
      const transcript = await engines.stt.transcribe(request.input.samples, request.input.sampleRate, { signal, language: ctx.role.language ?? undefined });
      record.timings.sttMs = since();
      metrics.observeStage("stt", record.timings.sttMs / 1000, record.source);
      text = transcript.text.trim();
    } else if (request.input.kind === "listening") {
      // Most of it was recognized while the speaker talked: only the tail is left to wait for.
      const heard = await request.input.listening.finish(signal);
      record.timings.sttMs = since();
      metrics.observeStage("stt", record.timings.sttMs / 1000, record.source);
      text = heard.text.trim();
    } else {
      text = request.input.text.trim();
    }
    checkCancelled();
    if (!text) {
      record.outcome = "heard_nothing";
      log.info("heard nothing", { conversation: conversationId(request.key), sttMs: record.timings.sttMs });
      if (speak && ctx.settings.heardNothingLine) {
        // Never silent: the child hears that the toy is listening, but nothing is answered as speech.
        record.explanation = "Nothing was heard in the recording, so the toy asked to hear it again.";
        const event = await lineEvent(ctx, lineText("heard_nothing", ctx.language), 1);
        spoken++;
        yield event;
      } else {
        record.explanation = "Nothing was heard in the recording, so there was no reply.";
      }
      record.timings.totalMs = since();
      yield { type: "done", record };
      return;
    }
    record.transcript = text;
    yield { type: "heard", text };
    log.info("heard", { conversation: conversationId(request.key), text, sttMs: record.timings.sttMs });

    // Safety sits outside the model: a risky request never reaches it.
    const input = checkInput(text, ctx.safety);
    if (input.verdict !== "allowed") {
      record.safety = input;
      const line = safetyLine(input.verdict === "care" ? "care" : "redirect", input.category, ctx.language);
      noteSafety(ctx, input);
      const event = await lineEvent(ctx, line, 1);
      spoken++;
      yield event;
      record.reply = line;
      record.outcome = "replied";
      record.timings.totalMs = since();
      yield { type: "done", record };
      return;
    }

    // 2. text -> streamed reply -> sentences (-> speech), in order
    const maxTokens = request.chat?.maxTokens ?? ctx.role.max_tokens ?? ctx.settings.maxTokens;
    // Device tools the role lets the model call (none: the plain reply below, as without tools).
    const tools = offeredTools(ctx.role, request.tools, engines.llm);
    const { messages } = buildMessages({
      role: ctx.role,
      systemPrompt: ctx.settings.systemPrompt,
      history: ctx.history,
      transcript: text,
      countTokens: (t) => engines.llm.countTokens(t),
      budgetTokens: engines.llm.tokensPerConversation - maxTokens - (tools.length ? toolPromptTokens(engines.llm, tools) : 0),
    });
    const llmStop = new AbortController();
    const stopLlm = () => llmStop.abort(signal.reason);
    signal.addEventListener("abort", stopLlm, { once: true });
    const chat = {
      ...roleChatOptions(ctx.role),
      ...request.chat,
      maxTokens,
      conversationId: conversationFileStem(request.key), // unique, unlike the display id
      onPromptDone: () => {
        record.timings.firstTokenMs ??= since();
      },
    };
    const firstClause = { marks: CLAUSE_MARKS, minWords: ctx.settings.firstClauseWords };
    const reply =
      request.tools && tools.length
        ? replyWithTools({ llm: engines.llm, messages, chat, separators: sentenceEnds(ctx.settings.separators), firstClause, signal: llmStop.signal, tools: request.tools, offered: tools, onCall: (note) => (record.toolCalls ??= []).push(note) })
        : replySentences(engines.llm, messages, chat, sentenceEnds(ctx.settings.separators), llmStop.signal, firstClause);
    reply.result.catch(() => {}); // its failure reaches us through the sentences
    let blocked: SafetyVerdict | undefined;
    const numbered = checkedReply(reply.pieces, {
      policy: ctx.safety,
      separators: ctx.settings.separators,
      language: ctx.language,
      onBlocked: (verdict) => {
        blocked = verdict;
        llmStop.abort(new Cancelled("a sentence was blocked by the safety check"));
      },
    });
    const sentences: AsyncIterable<{ order: number; text: string } & Partial<Voiced>> = speak
      ? synthesizeAhead(numbered, engines.tts, { voice: ctx.voice, speed: ctx.role.speed, signal })
      : numbered;
    const texts: string[] = [];
    for await (const s of sentences) {
      checkCancelled();
      const audio = s.audio;
      const readyAt = s.readyAt ?? Date.now();
      if (++spoken === 1) {
        record.timings.firstAudioMs = readyAt - request.endedAt;
        metrics.observeStage("first_audio", record.timings.firstAudioMs / 1000, record.source);
      }
      texts.push(s.text);
      record.sentences.push({ order: s.order, text: s.text, readyMs: readyAt - request.endedAt });
      yield { type: "sentence", order: s.order, text: s.text, audio, readyAt };
    }
    signal.removeEventListener("abort", stopLlm);
    checkCancelled();
    if (blocked) {
      record.safety = blocked;
      noteSafety(ctx, blocked);
    } else {
      const result = await reply.result;
      record.usage = { promptTokens: result.promptTokens, completionTokens: result.completionTokens, finishReason: result.finishReason };
      record.safety = { verdict: "allowed", stage: "output" };
    }
    record.reply = texts.join(" ");
    record.outcome = "replied";
    if (!texts.length) {
      record.explanation = "The model produced nothing to say.";
      log.warn("the model produced nothing to say", { conversation: conversationId(request.key) });
    }
    record.timings.totalMs = since();
    if (record.timings.firstTokenMs !== undefined) metrics.observeStage("llm_first_token", record.timings.firstTokenMs / 1000, record.source);
    metrics.observeStage("total", record.timings.totalMs / 1000, record.source);
    metrics.countTurn(record.source);
    log.info("replied", { conversation: conversationId(request.key), sentences: texts.length, ...record.timings });
    yield { type: "done", record };
  } catch (e) {
    record.timings.totalMs = since();
    const error = signal.aborted && signal.reason instanceof Error ? signal.reason : e instanceof Error ? e : new Error(String(e));
    describeFailure(record, error, signal.aborted);
    if (record.outcome === "failed") {
      metrics.countError("turn");
      log.error("turn failed", { conversation: conversationId(request.key), error: record.error });
    } else {
      log.info("turn ended early", { conversation: conversationId(request.key), outcome: record.outcome, why: record.error, sentencesSent: spoken });
    }
    // Never silent: a turn that has said nothing yet speaks a short line, unless a newer turn or the device took over.
    if (speak && spoken === 0 && record.outcome !== "cancelled") {
      const line = await fallbackLine(ctx, "trouble");
      if (line) {
        record.sentences.push({ order: 1, text: line.text, readyMs: Date.now() - request.endedAt, fallback: true });
        yield { type: "sentence", order: 1, text: line.text, audio: line.audio, readyAt: Date.now(), fallback: true };
      }
    }
    yield { type: "failed", record, error };
  }
}

/** Reply timeout, a full queue or a failing engine vs. a turn that was simply superseded. */
function describeFailure(record: TurnRecord, error: Error, aborted: boolean) {
  record.error = error.message;
  if (error instanceof TurnTimeout) {
    record.outcome = "timeout";
    record.explanation = "The reply took too long, so the toy was told to ask again.";
  } else if (aborted || error instanceof Cancelled) {
    record.outcome = "cancelled";
    record.error = `cancelled: ${error.message}`;
    record.explanation = `Stopped before it finished: ${error.message}.`;
  } else if (error instanceof Busy) {
    record.outcome = "failed";
    record.explanation = "Hearth was too busy to answer just then.";
  } else {
    record.outcome = "failed";
    record.explanation = "Something went wrong while answering; the details are in the Hearth log.";
  }
}

const PAUSE_EXPLANATIONS: Record<Pause, string> = {
  resting: "The toy's AI is switched off in the console, so it said it is resting.",
  quiet_hours: "It was quiet time, so the toy said so instead of answering.",
  daily_limit: "Today's talk time was used up, so the toy said goodbye until tomorrow.",
};

/** Marks that end a sentence, from [toy] sentence_separators: the clause marks (commas) left out. */
function sentenceEnds(separators: string): string {
  const ends = [...separators].filter((c) => !CLAUSE_MARKS.includes(c)).join("");
  return ends || separators;
}

/** A fixed line as the turn's sentence: its audio from the cache of pre-synthesized lines (text only when not speaking). */
async function lineEvent(ctx: TurnContext, text: string, order: number): Promise<Extract<TurnEvent, { type: "sentence" }>> {
  const audio = ctx.request.speak === false ? undefined : await ctx.lines.get(text, ctx.voice, ctx.role.speed);
  const readyAt = Date.now();
  ctx.record.sentences.push({ order, text, readyMs: readyAt - ctx.request.endedAt, fixed: true });
  ctx.record.timings.firstAudioMs ??= readyAt - ctx.request.endedAt;
  return { type: "sentence", order, text, audio, readyAt };
}

function noteSafety(ctx: TurnContext, verdict: SafetyVerdict) {
  metrics.countSafety(verdict.verdict, verdict.category ?? "phrase");
  const where = { conversation: conversationId(ctx.request.key), stage: verdict.stage, category: verdict.category, rule: verdict.rule };
  if (verdict.verdict === "care") log.warn("safety: the child may be in distress; a care line was spoken and the turn is flagged for the parent", where);
  else log.info(`safety: ${verdict.verdict}`, where);
  ctx.record.explanation =
    verdict.verdict === "care"
      ? "The child sounded upset or spoke about getting hurt. The toy answered kindly and suggested talking to a trusted grown-up."
      : verdict.verdict === "redirected"
        ? `The question was about something unsafe for a child (${verdict.category ?? "a blocked phrase"}), so the toy suggested asking a grown-up instead.`
        : `Part of the model's answer was unsafe (${verdict.category ?? "a blocked phrase"}) and was not spoken; the toy changed the subject.`;
}

async function fallbackLine(ctx: TurnContext, kind: LineKind): Promise<{ text: string; audio: NonNullable<Awaited<ReturnType<SpokenLines["get"]>>> } | undefined> {
  const text = lineText(kind, ctx.language);
  try {
    const audio = await ctx.lines.get(text, ctx.voice, ctx.role.speed);
    return audio ? { text, audio } : undefined;
  } catch (e) {
    log.error("cannot speak the fallback line", { error: (e as Error).message });
    return undefined;
  }
}

/** The reply timeout: no first sentence within the allowed time. */
export class TurnTimeout extends Cancelled {
  override name = "TurnTimeout";
}
