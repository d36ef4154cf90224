// The JSON text messages of a xiaozhi session (docs/websocket.md §4): what a device sends, read
// into a typed union (anything else is reported, never thrown), and what Hearth sends back.

export type ListenMode = "auto" | "manual" | "realtime";
export const LISTEN_MODES: readonly ListenMode[] = ["auto", "manual", "realtime"];

export interface AudioParams {
  format: string;
  sampleRate: number;
  channels: number;
  frameDuration: number;
}

export type DeviceMessage =
  | { kind: "hello"; version?: number; mcp: boolean; aec: boolean; transport?: string; audio: AudioParams }
  | { kind: "listen"; state: "start" | "stop" | "detect"; mode?: ListenMode; text?: string }
  | { kind: "abort"; reason?: string }
  | { kind: "mcp"; payload: Record<string, unknown> }
  /** A message of a type Hearth does not act on (iot, goodbye, ...). */
  | { kind: "other"; type: string }
  /** Not JSON, or no string `type`, or a known type with unusable fields: dropped, as the firmware drops such messages. */
  | { kind: "invalid"; reason: string };

/** What a device sends when its hello leaves something out (the firmware's defaults). */
export const DEVICE_AUDIO_DEFAULTS: AudioParams = { format: "opus", sampleRate: 16000, channels: 1, frameDuration: 60 };

export function parseDeviceMessage(text: string): DeviceMessage {
  let m: any;
  try {
    m = JSON.parse(text);
  } catch {
    return { kind: "invalid", reason: "not JSON" };
  }
  if (typeof m !== "object" || m === null || Array.isArray(m)) return { kind: "invalid", reason: "not a JSON object" };
  if (typeof m.type !== "string") return { kind: "invalid", reason: 'no string "type"' };
  switch (m.type) {
    case "hello": {
      const a = typeof m.audio_params === "object" && m.audio_params !== null ? m.audio_params : {};
      const num = (v: unknown, d: number) => (typeof v === "number" && Number.isFinite(v) ? v : d);
      return {
        kind: "hello",
        version: typeof m.version === "number" ? m.version : undefined,
        mcp: m.features?.mcp === true,
        aec: m.features?.aec === true,
        transport: typeof m.transport === "string" ? m.transport : undefined,
        audio: {
          format: typeof a.format === "string" ? a.format : DEVICE_AUDIO_DEFAULTS.format,
          sampleRate: num(a.sample_rate, DEVICE_AUDIO_DEFAULTS.sampleRate),
          channels: num(a.channels, DEVICE_AUDIO_DEFAULTS.channels),
          frameDuration: num(a.frame_duration, DEVICE_AUDIO_DEFAULTS.frameDuration),
        },
      };
    }
    case "listen": {
      if (m.state !== "start" && m.state !== "stop" && m.state !== "detect") return { kind: "invalid", reason: `listen state ${JSON.stringify(m.state)}` };
      const mode = LISTEN_MODES.includes(m.mode) ? (m.mode as ListenMode) : undefined;
      return { kind: "listen", state: m.state, mode, text: typeof m.text === "string" ? m.text : undefined };
    }
    case "abort":
      return { kind: "abort", reason: typeof m.reason === "string" ? m.reason : undefined };
    case "mcp":
      if (typeof m.payload !== "object" || m.payload === null || Array.isArray(m.payload)) return { kind: "invalid", reason: "mcp without a payload object" };
      return { kind: "mcp", payload: m.payload };
    default:
      return { kind: "other", type: m.type };
  }
}

/** Downstream audio: what the device must open its decoder with. */
export const SERVER_AUDIO: AudioParams = { format: "opus", sampleRate: 24000, channels: 1, frameDuration: 60 };

/** Builds Hearth's messages for one session (each carries its session_id, as servers do). */
export class Outgoing {
  constructor(readonly sessionId: string) {}

  hello(): string {
    return this.json({
      type: "hello",
      transport: "websocket",
      session_id: this.sessionId,
      audio_params: { format: SERVER_AUDIO.format, sample_rate: SERVER_AUDIO.sampleRate, channels: SERVER_AUDIO.channels, frame_duration: SERVER_AUDIO.frameDuration },
    });
  }

  stt(text: string): string {
    return this.json({ type: "stt", text, session_id: this.sessionId });
  }

  /** The face the device shows (an emotion name from the firmware's set, and its emoji). */
  llm(emotion: Emotion): string {
    return this.json({ type: "llm", text: EMOJI[emotion], emotion, session_id: this.sessionId });
  }

  ttsStart(): string {
    return this.json({ type: "tts", state: "start", session_id: this.sessionId });
  }

  sentenceStart(text: string): string {
    return this.json({ type: "tts", state: "sentence_start", text, session_id: this.sessionId });
  }

  ttsStop(): string {
    return this.json({ type: "tts", state: "stop", session_id: this.sessionId });
  }

  mcp(payload: Record<string, unknown>): string {
    return this.json({ type: "mcp", payload, session_id: this.sessionId });
  }

  private json(value: Record<string, unknown>): string {
    return JSON.stringify(value);
  }
}

/** The faces Hearth uses, from the firmware's emotion names. */
export type Emotion = "happy" | "neutral" | "thinking";
const EMOJI: Record<Emotion, string> = { happy: "🙂", neutral: "😶", thinking: "🤔" };
