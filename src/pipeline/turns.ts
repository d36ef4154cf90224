// The turn runner: starts turns for every front end, keeps one running turn per device (a newer
// one cancels the older), applies the reply timeout, keeps the conversation's history and writes
// every turn to the turn log once it is over.
import { conversationFileStem, type ConversationKey } from "../conversations/key.ts";
import type { ConversationStore } from "../conversations/store.ts";
import type { DeviceControlsStore } from "./controls.ts";
import type { Engines } from "../engines/types.ts";
import { Cancelled } from "../errors.ts";
import { logger } from "../log.ts";
import type { SpokenLines } from "./lines.ts";
import { resolveRole, type Role, type RolesConfig } from "./roles.ts";
import { allSafetyLines, effectivePolicy, type SafetyPolicy } from "./safety/index.ts";
import { lineText } from "./lines.ts";
import { runTurn, TurnTimeout, type TurnSettings } from "./turn.ts";
import type { TurnEvent, TurnRecord, TurnRequest } from "./types.ts";
import type { Voices } from "./voices.ts";

const log = logger("turn");

export interface TurnRunnerDeps {
  engines: Pick<Engines, "stt" | "llm" | "tts">;
  voices: Voices;
  lines: SpokenLines;
  conversations: ConversationStore;
  /** The parent's per-device controls (AI on/off, quiet hours, daily limit). */
  controls: DeviceControlsStore;
  /** The roles in force now (roles.json, reloaded when edited). */
  roles: () => RolesConfig;
  settings: TurnSettings & {
    /** [toy] reply_timeout_seconds, in ms: the default time to the first sentence. */
    replyTimeoutMs: number;
    /** [toy] max_turn_seconds, in ms: a whole turn is stopped after this long. */
    maxTurnMs: number;
    /** [safety]: the parent's policy; a role may only make it stricter. */
    safety: SafetyPolicy;
  };
}

/** A running turn, as its front end sees it. */
export interface Turn {
  readonly id: string;
  readonly key: ConversationKey;
  /** The resolved role ("1".."7") and its settings, with the device's overrides. */
  readonly role: { key: string; role: Role };
  /** The voice the turn speaks with ("id:speaker"). */
  readonly voice: string;
  /** Iterate once: heard, sentence..., then done or failed. */
  readonly events: AsyncIterable<TurnEvent>;
  /** Stops the turn (the reason ends up in its record). */
  cancel(reason: string): void;
  /** Adds what the front end did with a sentence (its URL, when it was sent) to the record. */
  noteSentence(order: number, note: { url?: string; sentMs?: number }): void;
  /** The record, once the turn is over and logged. */
  readonly finished: Promise<TurnRecord>;
}

export class TurnRunner {
  private readonly running = new Map<string, Turn>();
  private readonly all = new Set<Promise<TurnRecord>>();
  private readonly warnedVoices = new Set<string>();
  private readonly warmedLines = new Set<string>();
  private stopped = false;

  constructor(private readonly deps: TurnRunnerDeps) {}

  /**
   * The role a key selects, with the device's overrides (unknown roles fall back to the first).
   * A role a parent chose for the device in the console wins over the one the key names.
   */
  role(key: ConversationKey): { key: string; role: Role } {
    return resolveRole(this.deps.roles(), key.device, this.deps.controls.role(key.frontEnd, key.device) ?? key.role);
  }

  /**
   * The voice a role speaks with: a voice of the role's language, its voice_name when that one
   * speaks it (an OpenAI name: the one mapped or spread among that language's voices), else the
   * first voice of the language. Without a language, its voice_name or the default voice.
   */
  voiceFor(role: Role): string {
    const { voice, note } = this.deps.voices.forLanguage(role.voice_name, role.language);
    const warned = `${role.voice_name ?? ""}|${role.language ?? ""}`;
    if (note && !this.warnedVoices.has(warned)) {
      this.warnedVoices.add(warned);
      log.warn("a role speaks with another voice than it asks for", { voice_name: role.voice_name, language: role.language, using: voice, why: note });
    }
    return voice;
  }

  start(request: TurnRequest): Turn {
    if (this.stopped) throw new Cancelled("shutting down");
    const resolved = this.role(request.key);
    const key = { ...request.key, role: resolved.key };
    const voice = this.voiceFor(resolved.role);
    const exclusive = request.exclusive === undefined ? `${key.frontEnd}:${key.device}` : request.exclusive;
    if (exclusive !== null) this.running.get(exclusive)?.cancel("superseded by a newer turn");

    const controller = new AbortController();
    const record: TurnRecord = {
      id: request.id ?? `${key.frontEnd}-${key.device}-${request.endedAt}-${Math.random().toString(16).slice(2, 6)}`,
      key,
      source: key.frontEnd,
      sn: key.device,
      role: key.role,
      at: request.endedAt,
      transcript: "",
      reply: "",
      sentences: [],
      timings: {},
      outcome: "cancelled",
    };
    const timeoutMs = request.timeoutMs ?? this.deps.settings.replyTimeoutMs;
    const timer = setTimeout(
      () => controller.abort(new TurnTimeout(`no reply within ${Math.round(timeoutMs / 1000)} s of the end of speech (reply_timeout_seconds)`)),
      Math.max(0, request.endedAt + timeoutMs - Date.now()),
    );
    // The whole turn's budget: a runaway reply stops, keeping what was already spoken.
    const maxTurnMs = this.deps.settings.maxTurnMs;
    const turnLimit = setTimeout(() => controller.abort(new Cancelled(`the turn ran longer than ${Math.round(maxTurnMs / 1000)} s (max_turn_seconds)`)), maxTurnMs);
    const history = this.deps.conversations.history(key);
    const language = resolved.role.language ?? this.deps.voices.info(voice).language;
    if (request.speak !== false) this.warmLines(voice, resolved.role.speed, language);
    const generator = runTurn({
      engines: this.deps.engines,
      lines: this.deps.lines,
      settings: this.deps.settings,
      request: { ...request, key },
      record,
      role: resolved.role,
      voice,
      language,
      history,
      pause: this.deps.controls.pause(key.frontEnd, key.device),
      safety: effectivePolicy(this.deps.settings.safety, { level: resolved.role.safety_level, blockedPhrases: resolved.role.blocked_phrases }),
      signal: controller.signal,
    });

    let finish!: (r: TurnRecord) => void;
    const finished = new Promise<TurnRecord>((resolve) => (finish = resolve));
    const conversations = this.deps.conversations;
    const controls = this.deps.controls;
    // Talk time for the daily limit: the child's speech and the toy's spoken replies.
    let talkSeconds =
      request.input.kind === "audio" ? request.input.samples.length / request.input.sampleRate : request.input.kind === "listening" ? request.input.listening.seconds : 0;
    const running = this.running;
    let consumed = false;
    const turn: Turn = {
      id: record.id,
      key,
      role: resolved,
      voice,
      events: {
        [Symbol.asyncIterator]: () => {
          if (consumed) throw new Error("a turn's events can be read once");
          consumed = true;
          return (async function* () {
            try {
              for await (const event of generator) {
                if (event.type === "sentence") {
                  clearTimeout(timer); // the first audio is out: no timeout any more
                  if (event.audio) talkSeconds += event.audio.samples.length / event.audio.sampleRate;
                }
                // Only a reply the safety layer let through becomes history: guardrails never decay.
                if (event.type === "done" && record.outcome === "replied" && record.reply && record.safety?.verdict === "allowed") {
                  conversations.append(key, { user: record.transcript, assistant: record.reply }, record.id);
                }
                yield event;
              }
            } finally {
              // Also reached when the front end stops reading (the device went away): stop the engines.
              clearTimeout(timer);
              clearTimeout(turnLimit);
              if (!controller.signal.aborted) controller.abort(new Cancelled("the turn is over"));
              await generator.return(undefined);
              if (exclusive !== null && running.get(exclusive) === turn) running.delete(exclusive);
              if (record.outcome !== "paused") controls.addUsage(key.frontEnd, key.device, talkSeconds);
              try {
                conversations.recordTurn(record);
              } catch (e) {
                log.error("cannot write the turn log", { error: (e as Error).message });
              }
              finish(record);
            }
          })();
        },
      },
      cancel: (reason) => {
        if (!controller.signal.aborted) controller.abort(new Cancelled(reason));
      },
      noteSentence: (order, note) => {
        const s = record.sentences.find((x) => x.order === order);
        if (s) Object.assign(s, note);
      },
      finished,
    };
    if (exclusive !== null) running.set(exclusive, turn);
    const tracked = finished.finally(() => this.all.delete(tracked));
    this.all.add(tracked);
    return turn;
  }

  /** Synthesizes a voice's fixed lines (safety, "didn't catch that", trouble) the first time it is used. */
  private warmLines(voice: string, speed: number | undefined, language: string) {
    const key = `${voice}|${speed ?? 1}|${language}`;
    if (this.warmedLines.has(key)) return;
    this.warmedLines.add(key);
    this.deps.lines.warm([lineText("trouble", language), lineText("heard_nothing", language), ...allSafetyLines(language)], voice, speed);
  }

  /** Cancels the running turn of a device (role switch, new login, the device went away). */
  cancel(frontEnd: string, device: string, reason: string) {
    this.running.get(`${frontEnd}:${device}`)?.cancel(reason);
  }

  /** Forgets a conversation: its stored history and the LLM's cached context. */
  forget(key: ConversationKey) {
    const resolved = { ...key, role: this.role(key).key };
    this.deps.conversations.clear(resolved);
    this.deps.engines.llm.forgetConversation(conversationFileStem(resolved));
  }

  /** Cancels every running turn and waits (at most `waitMs`) for them to end. */
  async stop(waitMs = 5000) {
    this.stopped = true;
    for (const turn of this.running.values()) turn.cancel("shutting down");
    await Promise.race([Promise.all(this.all), Bun.sleep(waitMs)]);
  }
}
