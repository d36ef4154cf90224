// What the model layer hands to the engines: one resolved profile with absolute file paths.
// Produced by src/models/ (manifest + fetch + verify), consumed by src/engines/.

export type SttModelType = "whisper" | "sense_voice" | "moonshine" | "paraformer" | "transducer" | "nemo_ctc" | "fire_red_asr";
export type TtsModelType = "vits" | "matcha" | "kokoro";

export interface SttModel {
  id: string;
  type: SttModelType;
  /** Absolute paths by role, named as sherpa-onnx's config names them: encoder, decoder, tokens, model, preprocessor, uncachedDecoder, cachedDecoder, joiner. */
  files: Record<string, string>;
  /** Languages it can transcribe (ISO-639-1), e.g. ["en"] or ["zh","en","ja","ko","yue"]. */
  languages: string[];
  /** Longest audio it takes in one piece, in seconds (Whisper: 30); longer input is split with VAD. */
  windowSeconds: number;
}

export interface LlmModel {
  id: string;
  /** Absolute path of the .gguf file. */
  file: string;
}

export interface TtsVoice {
  /** Local voice name used in the API and roles.json, e.g. "amy" or "aishell3". */
  id: string;
  type: TtsModelType;
  /** Absolute paths by sherpa-onnx config name: model, tokens, dataDir, lexicon, dictDir, acousticModel, vocoder, voices, ruleFsts, ruleFars. */
  files: Record<string, string>;
  /** Main language (ISO-639-1) of the voice. */
  language: string;
  /** Number of speakers in the model (1 for a single-voice model). */
  speakers: number;
}

export interface VadModel {
  id: string;
  file: string;
}

export interface ResolvedProfile {
  name: string;
  stt: SttModel;
  llm: LlmModel;
  tts: TtsVoice[];
  vad: VadModel;
}
