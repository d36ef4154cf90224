// The engines' public surface: one interface per engine (Stt, Llm, Tts, Vad) and their data.
// Backends live one per file under stt/, llm/, tts/, vad/ (today: sherpa-onnx and node-llama-cpp);
// the pipeline and the front ends see only these types and never import a native library.
import type { ResolvedProfile } from "../models/types.ts";

export interface TranscriptSegment {
  start: number; // seconds
  end: number;
  text: string;
  /**
   * The segment's words with their times, inside the segment and in order. Absent when the
   * backend cannot place words (a remote recognizer that sent none).
   */
  words?: TranscriptWord[];
}

export interface TranscriptWord {
  /** The word without the punctuation around it. */
  word: string;
  start: number; // seconds
  end: number;
}

export interface Transcript {
  text: string;
  language: string;
  /** Seconds of audio. */
  duration: number;
  segments: TranscriptSegment[];
}

export interface TranscribeOptions {
  language?: string;
  /** "translate": English text from speech in another language (models that can: Stt.canTranslate). */
  task?: "transcribe" | "translate";
  signal?: AbortSignal;
  /** Called with each piece as soon as it is decoded (streaming transcription). */
  onSegment?: (segment: TranscriptSegment) => void;
}

export interface ChatMessage {
  role: "system" | "user" | "assistant";
  content: string;
  /**
   * An assistant turn's calls of tools (after its `content`), each with what the tool answered.
   * The text of a following assistant message is the same turn going on after the results.
   */
  toolCalls?: ToolCallRecord[];
}

/** A function the model may call (OpenAI's function tool). */
export interface ToolDefinition {
  name: string;
  description?: string;
  /** JSON schema of the arguments object, in the subset a grammar enforces; absent = no arguments. */
  parameters?: object;
}

/**
 * Which tools the reply may or must call: "auto" (text or calls, the model decides), "none" (text
 * only), "required" (at least one call), or one named function (a call of that one).
 */
export type ToolChoice = "auto" | "none" | "required" | { name: string };

export interface ToolCall {
  id: string;
  name: string;
  /** The arguments as JSON text (an object matching the tool's parameters). */
  arguments: string;
}

export interface ToolCallRecord extends ToolCall {
  /** What the tool answered (JSON or plain text); absent if it has not answered. */
  result?: string;
}

/** A piece of a tool call as it is generated: `id` and `name` come first, then the arguments' text in pieces. */
export interface ToolCallDelta {
  /** Which call of this reply (0, 1, ...). */
  index: number;
  id?: string;
  name?: string;
  arguments: string;
}

export interface ChatOptions {
  maxTokens?: number;
  temperature?: number;
  topP?: number;
  frequencyPenalty?: number;
  presencePenalty?: number;
  seed?: number;
  stop?: string[];
  /** GBNF grammar text, or a JSON schema (object) the output must match. */
  grammar?: string;
  jsonSchema?: object;
  /**
   * Keeps a context sequence for this conversation between calls, so a follow-up only
   * evaluates the new tokens (toys pass their SN). Absent = a one-off request.
   */
  conversationId?: string;
  signal?: AbortSignal;
  /** Called once the prompt has been evaluated and generation starts (time to first token). */
  onPromptDone?: () => void;
  /**
   * A place taken earlier with `Llm.reserve()`: the call uses it instead of asking for one (so it
   * cannot be refused as busy any more) and gives it back when it ends.
   */
  reservation?: LlmReservation;
  /**
   * "device": a device's turn (a toy with a child waiting in front of it). Device requests have
   * places of their own in the queue, which HTTP load cannot fill, and go ahead of HTTP requests
   * waiting for a context sequence (a backend may let a waiting HTTP request through now and then).
   */
  priority?: "device";
  /**
   * Functions the reply may call. Generation is grammar-constrained: a call names one of these
   * tools and its arguments match the tool's parameters schema. Cannot be combined with
   * `grammar`/`jsonSchema` unless `toolChoice` forces a call (which then has no text to shape).
   */
  tools?: ToolDefinition[];
  /** Default "auto". */
  toolChoice?: ToolChoice;
  /** false = at most one call per reply. Default: as many as the model's chat format allows. */
  parallelToolCalls?: boolean;
  /** Called with each piece of a tool call as it is generated (streaming). */
  onToolCall?: (delta: ToolCallDelta) => void;
}

/**
 * A place among the requests the LLM runs or queues, taken before the work starts (so a front
 * end can answer "busy" before it commits to a response). Give it to `chat` or release it.
 */
export interface LlmReservation {
  /** Gives the place back; idempotent. While a `chat` call is using it, it is given back when that call ends. */
  release(): void;
}

export interface ChatResult {
  /** How the generation ended; a reply that ends in tool calls has `toolCalls` (and "stop"). */
  finishReason: "stop" | "length";
  promptTokens: number;
  completionTokens: number;
  /** The tools the reply called, in order; absent or empty when it called none. */
  toolCalls?: ToolCall[];
  /**
   * Of `promptTokens`, those the conversation's context already held (an earlier turn, or a
   * preload) and that were not evaluated again. Absent when the backend cannot tell.
   */
  cachedPromptTokens?: number;
}

export interface PreloadOptions {
  /** The conversation whose next request will start with the messages (ChatOptions.conversationId). */
  conversationId: string;
  /** The tools that request will offer: their documentation is part of the prompt. */
  tools?: ToolDefinition[];
  /** Stops the preload (it also stops by itself for any real request). */
  signal?: AbortSignal;
}

export interface PreloadResult {
  /**
   * "done": the prefix is in the conversation's context; "stopped": a real request came first
   * (part of it may be there); "skipped": nothing was done (`reason` says why).
   */
  outcome: "done" | "stopped" | "skipped";
  reason?: string;
  /** Tokens of the prefix the conversation's next request will find evaluated. */
  cachedTokens: number;
  /** Of those, the ones this call evaluated (the rest were there already). */
  evaluatedTokens: number;
}

export interface SynthesizeOptions {
  /** "id:speaker" of an installed voice (see pipeline/voices.ts for choosing one). */
  voice: string;
  speed?: number;
  signal?: AbortSignal;
}

export interface AudioChunk {
  samples: Float32Array;
  sampleRate: number;
}

/** A stretch of speech found by the VAD. */
export interface SpeechSegment {
  /** Offset in seconds from the start of the audio. */
  start: number;
  samples: Float32Array;
}

export interface VoiceInfo {
  /** Local voice name, e.g. "amy" or "aishell3". */
  id: string;
  /** ISO-639-1 language the voice speaks. */
  language: string;
  speakers: number;
  sampleRate: number;
}

/** Finds speech in 16 kHz mono audio. */
export interface Vad {
  readonly sampleRate: number;
  /**
   * Speech segments of 16 kHz audio. With `firstOnly`, stops at the first speech and returns one
   * segment from there to the end (enough to know there is speech).
   */
  segments(samples: Float32Array, opts?: { signal?: AbortSignal; firstOnly?: boolean }): Promise<SpeechSegment[]>;
}

/** Speech to text. */
export interface Stt {
  readonly id: string;
  /** ISO-639-1 codes the model recognizes. */
  readonly languages: string[];
  /** Mono audio at any rate; no speech gives an empty text. */
  transcribe(samples: Float32Array, sampleRate: number, opts?: TranscribeOptions): Promise<Transcript>;
  /** Whether `task: "translate"` works (multilingual Whisper does; English-only and other models do not). */
  readonly canTranslate?: boolean;
  close(): void;
}

/** The language model: streamed chat with per-conversation cached context. */
export interface Llm {
  readonly id: string;
  /** Tokens of `text` in this model's vocabulary (history budgets are counted with it). */
  countTokens(text: string): number;
  /** Tokens one conversation may hold in the context. */
  readonly tokensPerConversation: number;
  /** Requests waiting for a free context sequence. */
  readonly queueDepth: number;
  /**
   * Takes a place among the running and waiting requests now, or throws Busy (429) at once when
   * they are all taken. Pass it as `ChatOptions.reservation`; release it if the request goes away first.
   */
  reserve(opts?: { priority?: "device" }): LlmReservation;
  /** Whether `chat` honours `ChatOptions.tools` (a backend without it ignores them). */
  readonly supportsTools?: boolean;
  /**
   * Tokens the prompt for these messages takes, chat template included (compare with
   * tokensPerConversation); with `tools`, their documentation in the prompt too.
   */
  countPromptTokens(messages: ChatMessage[], tools?: Pick<ChatOptions, "tools" | "toolChoice">): number;
  /**
   * Generates a reply, calling onText with each piece as it is produced. Throws Busy (429) when the
   * queue is full (unless given a reservation). The reply stops at `maxTokens` or at the end of the
   * conversation's context, whichever comes first (finishReason "length").
   */
  chat(messages: ChatMessage[], opts: ChatOptions, onText: (chunk: string) => void): Promise<ChatResult>;
  /** Drops the cached context kept for a conversation. */
  forgetConversation(conversationId: string): void;
  /**
   * Evaluates into the conversation's context the prompt its next request will start with:
   * `prefix` is that request's messages before the user's new words (which it adds), so the
   * request pays only for those. Always below real requests: it never waits for a context
   * sequence, does nothing while a request runs, waits or holds a reservation, and stops for one
   * that comes. Never throws. Absent on a backend that keeps no conversation's context here
   * (remote servers keep their own prompt cache).
   */
  preloadConversation?(prefix: ChatMessage[], opts: PreloadOptions): Promise<PreloadResult>;
  close(): Promise<void>;
}

/** Text to speech. Voices are named "id:speaker" ("amy:0"); choosing one from a name is the pipeline's job. */
export interface Tts {
  voices(): VoiceInfo[];
  /** Speaks `text`, yielding audio as soon as each piece is synthesized. */
  synthesize(text: string, opts: SynthesizeOptions): AsyncIterable<AudioChunk>;
  close(): void;
}

export interface Engines {
  profile: ResolvedProfile;
  stt: Stt;
  llm: Llm;
  tts: Tts;
  /** The local recognizer's VAD; absent when speech recognition is remote ([stt] backend = "remote"). */
  vad?: Vad;
}
