// The engines' public surface. Front ends (api/, toy/, web/) reach the engines only through
// these types and src/pipeline/; they never import sherpa-onnx-node or node-llama-cpp.

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
}

export interface ChatResult {
  finishReason: "stop" | "length";
  promptTokens: number;
  completionTokens: number;
}

export interface SynthesizeOptions {
  /** Local voice name (TtsVoice.id), optionally "voice:speaker" for multi-speaker models. */
  voice?: string;
  speed?: number;
  signal?: AbortSignal;
}

export interface AudioChunk {
  samples: Float32Array;
  sampleRate: number;
}
