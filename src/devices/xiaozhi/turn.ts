// A xiaozhi device's turn: the utterance goes to the shared pipeline turn, and its events come
// back as the firmware expects them (docs/websocket.md §4.2): `stt {text}` when heard, then for
// the reply `llm {emotion}`, `tts start`, and per sentence `tts sentence_start {text}` followed by
// its Opus frames (paced by playout.ts), then `tts stop` once the device has played it all. No
// frame ever goes before `tts start`. Interrupted (abort, a new question, the device went away):
// the turn is cancelled, nothing more is sent, and `tts stop` goes at once.
import type { ConversationKey } from "../../conversations/key.ts";
import { logger } from "../../log.ts";
import type { Turn, TurnRunner } from "../../pipeline/turns.ts";
import type { DeviceTools, TurnRecord } from "../../pipeline/types.ts";
import type { Utterance } from "./listening.ts";
import type { Emotion, Outgoing } from "./messages.ts";
import { downstreamEncoder, downstreamFrames, LISTEN_RATE } from "./opus.ts";
import { Playout } from "./playout.ts";

const log = logger("xiaozhi");

export const FRONT_END = "xiaozhi";

export interface ReplyContext {
  turns: TurnRunner;
  key: ConversationKey;
  utterance: Utterance;
  id: string;
  out: Outgoing;
  /** Sends a text message (a no-op once the socket is closed). */
  sendText(message: string): void;
  /** Sends one Opus packet, framed for the session's protocol version. */
  sendAudio(packet: Uint8Array, timestampMs: number): void;
  /** Aborted when the reply must stop now; `reason` says why (barge-in, disconnect, shutdown). */
  signal: AbortSignal;
  /** Frames sent ahead of the device's playback, and the wait after the last one before `tts stop`. */
  leadFrames: number;
  tailMs: number;
  /** The device's MCP tools (absent without features.mcp). */
  tools?: DeviceTools;
}

export interface ReplyOutcome {
  /** `tts start` was sent (the device went into its speaking state). */
  spoke: boolean;
  /** Absent when no turn could start (Hearth is shutting down). */
  record?: TurnRecord;
}

/** Runs one turn to its end. Never rejects. */
export async function runReply(ctx: ReplyContext): Promise<ReplyOutcome> {
  const { utterance: u, out } = ctx;
  let turn: Turn;
  try {
    turn = ctx.turns.start({
      key: ctx.key,
      input: u.listening ? { kind: "listening", listening: u.listening } : { kind: "audio", samples: u.samples, sampleRate: LISTEN_RATE },
      endedAt: u.endedAt,
      id: ctx.id,
      chat: { priority: "device" }, // a child is waiting: devices have their own places in the LLM's queue
      tools: ctx.tools,
    });
  } catch (e) {
    u.listening?.cancel();
    log.info("no turn for the device", { device: ctx.key.device, why: (e as Error).message });
    return { spoke: false };
  }
  let playout: Playout | undefined;
  let spoke = false;
  let stopSent = false;
  const sendStop = () => {
    if (stopSent) return;
    stopSent = true;
    ctx.sendText(out.ttsStop());
  };
  const interrupt = () => {
    const reason = ctx.signal.reason instanceof Error ? ctx.signal.reason.message : String(ctx.signal.reason ?? "interrupted");
    turn.cancel(reason);
    if (playout) {
      const sent = playout.framesSent;
      playout.stop();
      log.info("reply interrupted", { device: ctx.key.device, why: reason, framesSent: sent });
    }
    if (spoke) sendStop();
  };
  if (ctx.signal.aborted) interrupt();
  else ctx.signal.addEventListener("abort", interrupt, { once: true });
  try {
    for await (const event of turn.events) {
      if (ctx.signal.aborted) continue; // the turn winds down and records itself; the device hears nothing more
      if (event.type === "heard") {
        ctx.sendText(out.stt(event.text));
      } else if (event.type === "sentence" && event.audio) {
        if (!playout) {
          ctx.sendText(out.llm(emotionOf(event)));
          ctx.sendText(out.ttsStart());
          spoke = true;
          playout = new Playout({ text: ctx.sendText, audio: ctx.sendAudio }, downstreamEncoder(), { frameMs: 60, leadFrames: ctx.leadFrames, tailMs: ctx.tailMs });
        }
        const order = event.order;
        playout.text(out.sentenceStart(event.text), () => turn.noteSentence(order, { sentMs: Date.now() - u.endedAt }));
        playout.audio(downstreamFrames(event.audio));
      }
    }
    if (playout && !ctx.signal.aborted) {
      playout.end();
      await playout.finished;
      if (!ctx.signal.aborted) sendStop();
    }
  } catch (e) {
    // Only encoding can fail here; the turn's record says so.
    turn.cancel(`cannot send the reply: ${(e as Error).message}`);
    log.error("cannot send the reply", { device: ctx.key.device, error: (e as Error).message });
    playout?.stop();
    if (spoke) sendStop();
  } finally {
    ctx.signal.removeEventListener("abort", interrupt);
  }
  return { spoke, record: await turn.finished };
}

/** The face for the reply: a plain answer is happy; a fallback line (something went wrong) is not. */
function emotionOf(event: { fallback?: boolean }): Emotion {
  return event.fallback ? "neutral" : "happy";
}
