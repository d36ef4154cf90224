// Sends a reply's audio to a device at the pace it plays it. The device decodes into a queue of
// about 40 packets (2.4 s) and silently drops what does not fit, so the first few frames go at
// once (a cushion against network jitter) and every later one when the device is about to need
// it: never more than `leadFrames` ahead of its playback. Each sentence's `sentence_start` text
// goes out just before its first frame, so the device shows the sentence it is saying. Frames are
// Opus-encoded one at a time as they are due (no burst of CPU per sentence).
import type { OpusEncoder } from "../../audio/opus.ts";

export interface PlayoutSink {
  /** A text message (the sentence_start before a sentence's audio). */
  text(message: string): void;
  /** One Opus packet; `timestampMs` is its place in the reply (v2 frames carry it). */
  audio(packet: Uint8Array, timestampMs: number): void;
}

export interface PlayoutOptions {
  /** Duration of one frame. */
  frameMs: number;
  /** Frames sent ahead of the device's playback (the pre-buffer). */
  leadFrames: number;
  /** Extra time after the last frame before the reply counts as played (the device's output latency). */
  tailMs?: number;
}

type Item = { kind: "text"; message: string; onSent?: () => void } | { kind: "audio"; frames: Float32Array[] };

export class Playout {
  private readonly queue: Item[] = [];
  private ended = false;
  private stopped = false;
  private wake?: () => void;
  private timer?: ReturnType<typeof setTimeout>;
  /** performance.now() at which the device will have played everything sent so far. */
  private playheadEnd = 0;
  private sent = 0;
  /** performance.now() of the first frame sent. */
  firstFrameAt?: number;
  /** Resolves once everything was sent and played, or after stop(). Never rejects. */
  readonly finished: Promise<void>;

  constructor(
    private readonly sink: PlayoutSink,
    private readonly encoder: OpusEncoder,
    private readonly options: PlayoutOptions,
  ) {
    this.finished = this.run();
  }

  /** Frames sent so far. */
  get framesSent(): number {
    return this.sent;
  }

  /** Queues a message to send in order with the audio (not paced); `onSent` when it went out. */
  text(message: string, onSent?: () => void) {
    this.push({ kind: "text", message, onSent });
  }

  /** Queues frames (each exactly the encoder's frame size). */
  audio(frames: Float32Array[]) {
    if (frames.length) this.push({ kind: "audio", frames });
  }

  /** Nothing more will be queued: `finished` resolves when the device has played it all. */
  end() {
    this.ended = true;
    this.wake?.();
  }

  /** Drops what is not sent yet; `finished` resolves at once. */
  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    this.wake?.();
  }

  get isStopped(): boolean {
    return this.stopped;
  }

  private push(item: Item) {
    if (this.stopped || this.ended) return;
    this.queue.push(item);
    this.wake?.();
  }

  private async run(): Promise<void> {
    const { frameMs, leadFrames } = this.options;
    // A frame goes when sending it leaves at most `leadFrames` frames queued on the device.
    const lead = (leadFrames - 1) * frameMs;
    try {
      for (;;) {
        if (this.stopped) return;
        const item = this.queue.shift();
        if (!item) {
          if (this.ended) break;
          await new Promise<void>((resolve) => (this.wake = resolve));
          this.wake = undefined;
          continue;
        }
        if (item.kind === "text") {
          this.sink.text(item.message);
          item.onSent?.();
          continue;
        }
        for (const frame of item.frames) {
          // (a new item queued meanwhile wakes the sleep early: wait again for the frame's turn)
          for (let wait = this.playheadEnd - performance.now() - lead; wait > 0; wait = this.playheadEnd - performance.now() - lead) {
            await this.sleep(wait);
            if (this.stopped) return;
          }
          if (this.stopped) return;
          const packet = this.encoder.encode(frame);
          const now = performance.now();
          this.firstFrameAt ??= now;
          this.sink.audio(packet, this.sent * frameMs);
          this.sent++;
          // The device plays frames back to back; after a gap (the next sentence was late) it starts again now.
          this.playheadEnd = Math.max(this.playheadEnd, now) + frameMs;
        }
      }
      if (this.sent > 0) {
        const tail = this.options.tailMs ?? 0;
        for (let left = this.playheadEnd + tail - performance.now(); left > 0 && !this.stopped; left = this.playheadEnd + tail - performance.now()) await this.sleep(left);
      }
    } catch {
      // The socket went away while sending: nothing more to do.
      this.stopped = true;
    } finally {
      this.encoder.close();
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      this.wake = resolve;
      this.timer = setTimeout(resolve, ms);
    }).then(() => {
      this.wake = undefined;
    });
  }
}
