// The engines' public surface: one interface per engine (Stt, Llm, Tts, Vad) and their data.
// Backends live one per file under stt/, llm/, tts/, vad/ (today: sherpa-onnx and node-llama-cpp);
// the pipeline and the front ends see only these types and never import a native library.
import type { ResolvedProfile } from "../models/types.ts";

export interface TranscriptSegment {
  start: number; // seconds
  end: number;
  text: string;
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
  signal?: AbortSignal;
  /** Called with each piece as soon as it is decoded (streaming transcription). */
  onSegment?: (segment: TranscriptSegment) => void;
}

export interface ChatMessage {
  role: "system" | "user" | "assistant";
  content: string;
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
  finishReason: "stop" | "length";
  promptTokens: number;
  completionTokens: number;
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
  reserve(): LlmReservation;
  /** Tokens the prompt for these messages takes, chat template included (compare with tokensPerConversation). */
  countPromptTokens(messages: ChatMessage[]): number;
  /**
   * Generates a reply, calling onText with each piece as it is produced. Throws Busy (429) when the
   * queue is full (unless given a reservation). The reply stops at `maxTokens` or at the end of the
   * conversation's context, whichever comes first (finishReason "length").
   */
  chat(messages: ChatMessage[], opts: ChatOptions, onText: (chunk: string) => void): Promise<ChatResult>;
  /** Drops the cached context kept for a conversation. */
  forgetConversation(conversationId: string): void;
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
  vad: Vad;
}
