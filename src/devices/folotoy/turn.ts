// A toy's turn (toy-protocol.md §4): the recording goes to the shared pipeline turn, and each
// spoken sentence comes back as an MP3 the toy downloads, announced with audioplay in order.
import { s16leToFloat } from "../../audio/pcm.ts";
import { encodeWav } from "../../audio/wav.ts";
import { logger } from "../../log.ts";
import type { Listening } from "../../pipeline/listen.ts";
import type { TurnRunner } from "../../pipeline/turns.ts";
import { toyMp3, type AudioStore } from "./audio-store.ts";
import { TOY_SAMPLE_RATE, type Recording } from "./udp.ts";

const log = logger("toy");

export const FRONT_END = "folotoy";

export interface ToyTurnContext {
  turns: TurnRunner;
  store: AudioStore;
  /** The toy's selected role button. */
  role: number;
  /** The toy's own reply deadline (from its data_config timeout), when it reported one. */
  timeoutMs?: number;
  recording: Recording;
  /** The recording, recognized while it arrived (absent: it is recognized whole now). */
  listening?: Listening;
  /** Sends a command to the toy. */
  send(identifier: string, params: Record<string, unknown>): void;
  /** Publishes an integration-mirror event (its fields go in `inputParams`, as the official server's), when enabled. */
  mirror?(identifier: string, params: Record<string, unknown>): void;
  /** Public URL of a stored file. */
  url(name: string): string;
}

/** Runs one toy turn to its end. Never rejects. */
export async function runToyTurn(ctx: ToyTurnContext): Promise<void> {
  const { recording: rec, send } = ctx;
  const samples = s16leToFloat(rec.pcm);
  const turn = ctx.turns.start({
    key: { frontEnd: FRONT_END, device: rec.sn, role: String(ctx.role) },
    input: ctx.listening ? { kind: "listening", listening: ctx.listening } : { kind: "audio", samples, sampleRate: TOY_SAMPLE_RATE },
    endedAt: rec.endedAt,
    id: `${rec.sn}-${rec.recordingId}-${rec.endedAt}`,
    timeoutMs: ctx.timeoutMs,
    chat: { priority: "device" }, // a child is waiting: toys have their own places in the LLM's queue
  });
  let sent = 0;
  try {
    for await (const event of turn.events) {
      if (event.type === "heard" && ctx.mirror) {
        const wav = await ctx.store.save("recording", encodeWav(samples, TOY_SAMPLE_RATE), "wav");
        ctx.mirror("recording_transcribed", { recordingId: rec.recordingId, recordingUrl: ctx.url(wav), recordingText: event.text });
      } else if (event.type === "sentence" && event.audio) {
        const name = await ctx.store.save("voice", await toyMp3(event.audio));
        const url = ctx.url(name);
        send("audioplay", { recordingId: rec.recordingId, order: event.order, url });
        sent++;
        turn.noteSentence(event.order, { url, sentMs: Date.now() - rec.endedAt });
        ctx.mirror?.("voice_generated", { recordingId: rec.recordingId, order: event.order, voiceText: event.text, voiceUrl: url, role: Number(turn.role.key), resultCode: 1 });
        log.debug("audioplay", { sn: rec.sn, recordingId: rec.recordingId, order: event.order, url, fallback: event.fallback });
      } else if (event.type === "done" || (event.type === "failed" && event.record.outcome !== "cancelled")) {
        // A superseded turn says nothing more; a finished one (or its fallback line) is closed.
        if (sent) send("audioplay_cmd", { recordingId: rec.recordingId, total: sent });
      }
    }
  } catch (e) {
    // Only the MP3 store can fail here (a full or read-only disk): the turn's record says so.
    turn.cancel(`cannot store the reply audio: ${(e as Error).message}`);
    log.error("cannot store the reply audio", { sn: rec.sn, error: (e as Error).message });
  }
}
