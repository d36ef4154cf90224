// Silero VAD through sherpa-onnx: finds the speech in a recording.
import sherpa from "sherpa-onnx-node";
import type { VadModel } from "../../models/types.ts";
import { SerialQueue } from "../queue.ts";
import type { SpeechSegment, Vad } from "../types.ts";

export interface SileroVadSettings {
  threshold: number;
  minSilenceSeconds: number;
  maxSegmentSeconds: number;
}

export const VAD_SAMPLE_RATE = 16000;
const WINDOW = 512; // silero's window at 16 kHz
const WINDOWS_PER_SLICE = 200; // ~6.4 s of audio between yields to the event loop

export class SileroVad implements Vad {
  readonly sampleRate = VAD_SAMPLE_RATE;
  private readonly vad: any;
  private readonly queue = new SerialQueue(256);

  constructor(
    readonly model: VadModel,
    private readonly settings: SileroVadSettings,
  ) {
    // One detector, loaded once (loading silero costs ~40 ms); calls take turns and reset it.
    this.vad = createSileroDetector(model, { threshold: settings.threshold, minSilenceSeconds: settings.minSilenceSeconds, maxSpeechSeconds: settings.maxSegmentSeconds }, 60);
  }

  /**
   * The detector runs synchronously in sherpa, so long audio
   * is fed in slices with a yield between them: a 3-hour upload never freezes the server.
   * With `firstOnly`, stops as soon as speech is detected and returns one segment from there to
   * the end (enough to know there is speech, for audio decoded whole anyway).
   */
  segments(samples: Float32Array, opts: { signal?: AbortSignal; firstOnly?: boolean } = {}): Promise<SpeechSegment[]> {
    return this.queue.run(async () => {
      const vad = this.vad;
      vad.reset();
      const found: SpeechSegment[] = [];
      const collect = () => {
        while (!vad.isEmpty()) {
          const seg = vad.front(false);
          found.push({ start: seg.start / VAD_SAMPLE_RATE, samples: Float32Array.from(seg.samples) });
          vad.pop();
        }
      };
      const slice = WINDOW * WINDOWS_PER_SLICE;
      for (let offset = 0; offset < samples.length; offset += slice) {
        if (opts.signal?.aborted || (opts.firstOnly && found.length)) break;
        const end = Math.min(offset + slice, samples.length);
        for (let i = offset; i < end; i += WINDOW) {
          vad.acceptWaveform(samples.subarray(i, Math.min(i + WINDOW, end)));
          if (opts.firstOnly && vad.isDetected()) return [{ start: i / VAD_SAMPLE_RATE, samples: samples.subarray(i) }];
        }
        collect();
        await new Promise((r) => setImmediate(r));
      }
      if (!(opts.firstOnly && found.length)) {
        vad.flush();
        collect();
      }
      return found;
    }, opts.signal);
  }
}

/** A silero detector from sherpa-onnx at 16 kHz on 1 thread, buffering up to `bufferSeconds` of speech. */
export function createSileroDetector(model: VadModel, settings: { threshold: number; minSilenceSeconds: number; maxSpeechSeconds: number }, bufferSeconds: number): any {
  return new sherpa.Vad(
    {
      sileroVad: {
        model: model.file,
        threshold: settings.threshold,
        minSilenceDuration: settings.minSilenceSeconds,
        minSpeechDuration: 0.25,
        maxSpeechDuration: settings.maxSpeechSeconds,
        windowSize: WINDOW,
      },
      sampleRate: VAD_SAMPLE_RATE,
      numThreads: 1,
      provider: "cpu",
      debug: 0,
    },
    bufferSeconds,
  );
}
