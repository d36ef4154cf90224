// What a turn takes, what it emits, and what is recorded of it.
import type { ConversationKey } from "../conversations/key.ts";
import type { AudioChunk, ChatOptions } from "../engines/types.ts";
import type { Listening } from "./listen.ts";
import type { SafetyVerdict } from "./safety/types.ts";

/** One sentence of a spoken reply, ready to encode and play. `order` counts from 1. */
export interface SpokenSentence {
  order: number;
  text: string;
  audio: AudioChunk;
  /** Epoch ms when its audio was ready (it may wait a little while the consumer handles the one before). */
  readyAt: number;
}

export type TurnInput =
  | { kind: "audio"; samples: Float32Array; sampleRate: number }
  /** Audio recognized while it arrived (listen.ts): the turn only waits for what is left. */
  | { kind: "listening"; listening: Listening }
  | { kind: "text"; text: string };

export interface TurnRequest {
  /** Whose conversation: front end, device and role. History and the LLM's cached context follow it. */
  key: ConversationKey;
  input: TurnInput;
  /** Epoch ms the speaker stopped talking (or the request arrived): every timing counts from here. */
  endedAt: number;
  /** The turn record's id (e.g. the chat completion's id); generated when absent. */
  id?: string;
  /** Synthesize each sentence (default true). The chat API's role personas only want text. */
  speak?: boolean;
  /** A newer turn with the same value cancels this one (default: front end + device). null = never. */
  exclusive?: string | null;
  /** Milliseconds from endedAt to the first sentence before the turn gives up (default [toy] reply_timeout_seconds). */
  timeoutMs?: number;
  /** Request-level chat settings (the API's max_tokens, temperature...); the role's settings fill the rest. */
  chat?: Partial<ChatOptions>;
  /** The device's own tools (a xiaozhi device's MCP tools); a role with `device_tools` lets the model call them. */
  tools?: DeviceTools;
}

/** A tool the device offers (MCP's tools/list entry). */
export interface DeviceTool {
  name: string;
  description?: string;
  /** JSON schema of the arguments object. */
  inputSchema?: unknown;
}

/** What a device tool answered: its text, and whether the tool itself reported a failure. */
export interface DeviceToolResult {
  text: string;
  isError: boolean;
}

/** A front end's access to its device's tools, for the turn's tool loop (pipeline/tool-loop.ts). */
export interface DeviceTools {
  /** The tools the device has now. */
  list(): DeviceTool[];
  /** Calls one; rejects when the device answers with an error or went away. Aborting `signal` stops the wait. */
  call(name: string, args: Record<string, unknown>, signal: AbortSignal): Promise<DeviceToolResult>;
  /** How long one call may take before it counts as failed (default 5 s). */
  callTimeoutMs?: number;
}

/** A device tool the model called during a turn, for the turn log. */
export interface ToolCallNote {
  name: string;
  /** The arguments as the model wrote them (JSON). */
  arguments: string;
  /**
   * "ok": the tool answered; "error": it reported a failure, the device answered with an error, or
   * the arguments were unusable; "timeout": no answer in time; "cancelled": the turn was stopped
   * while waiting (the device may still have done it).
   */
  outcome: "ok" | "error" | "timeout" | "cancelled";
  /** What the model was told (the tool's text, or what went wrong). */
  result: string;
  ms: number;
}

export type TurnOutcome = "replied" | "heard_nothing" | "paused" | "cancelled" | "timeout" | "failed";

export type TurnEvent =
  | { type: "heard"; text: string }
  | { type: "sentence"; order: number; text: string; audio?: AudioChunk; readyAt: number; fallback?: boolean }
  | { type: "done"; record: TurnRecord }
  | { type: "failed"; record: TurnRecord; error: Error };

/** A finished conversation turn: persisted in the turn log, shown in the console. */
export interface TurnRecord {
  id: string;
  key: ConversationKey;
  /** The front end ("folotoy", "api", "web", ...). */
  source: string;
  /** The device (a toy's SN), for the console. */
  sn?: string;
  role: string;
  /** Epoch ms when the speaker stopped talking (or the request arrived). */
  at: number;
  transcript: string;
  reply: string;
  /** One entry per spoken sentence; url is where its audio can be fetched while it is kept. */
  /** `fixed`: a line Hearth says on its own (a safety redirect, "I didn't catch that"); `fallback`: said because the reply failed. */
  sentences: { order: number; text: string; url?: string; readyMs?: number; sentMs?: number; fallback?: boolean; fixed?: boolean }[];
  timings: { sttMs?: number; firstTokenMs?: number; firstAudioMs?: number; totalMs?: number };
  outcome: TurnOutcome;
  /** The safety layer's verdict (absent when the turn never got that far). */
  safety?: SafetyVerdict;
  /** Device tools the model called, in order (absent when it called none). */
  toolCalls?: ToolCallNote[];
  /** The LLM's token counts and why it stopped (absent when it never ran). */
  usage?: { promptTokens: number; completionTokens: number; finishReason: "stop" | "length" };
  /** What went wrong, in words a parent understands (absent when the turn replied). */
  explanation?: string;
  /** The technical reason, for the log and the console's details. */
  error?: string;
}

/** What the console shows for each device. */
export interface ToyStatus {
  sn: string;
  /** The front end it talks through ("folotoy", "xiaozhi"), set by the app. */
  frontEnd?: string;
  /** The name a parent gave it in the console. */
  nickname?: string;
  role: number;
  connected: boolean;
  lastSeen: number;
  battery?: number | null;
  firmware?: string;
  address?: string;
  /** The toy's own settings, as it last reported them (FoloToy data_config). Speaker volume, 0-100. */
  volume?: number;
  /** 1 click to talk, 2 hold to talk, 3 continuous. */
  recordType?: number;
  /** Seconds the toy waits for a reply; it also bounds the reply deadline. */
  timeoutSeconds?: number;
}
