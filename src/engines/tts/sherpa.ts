// Text to speech with sherpa-onnx OfflineTts (Piper/VITS, Matcha, Kokoro voices).
import sherpa from "sherpa-onnx-node";
import { BadRequest, Cancelled, NotReady } from "../../errors.ts";
import { logger } from "../../log.ts";
import { metrics } from "../../metrics.ts";
import type { TtsVoice } from "../../models/types.ts";
import { Channel } from "../../util/channel.ts";
import { SerialQueue } from "../queue.ts";
import type { AudioChunk, SynthesizeOptions, Tts, VoiceInfo } from "../types.ts";

const log = logger("tts");

export interface SherpaTtsSettings {
  threads: number;
  maxQueue: number;
}

interface LoadedVoice {
  info: VoiceInfo;
  tts: any;
}

/** The one owner of the sherpa-onnx OfflineTts voices: one synthesis at a time, streamed per sentence. */
export class SherpaTts implements Tts {
  private readonly queue: SerialQueue;

  private constructor(private readonly loaded: Map<string, LoadedVoice>, settings: SherpaTtsSettings) {
    this.queue = new SerialQueue(settings.maxQueue, (n) => metrics.setQueueDepth("tts", n));
  }

  static async load(voices: TtsVoice[], settings: SherpaTtsSettings): Promise<SherpaTts> {
    const loaded = new Map<string, LoadedVoice>();
    for (const voice of voices) {
      try {
        const tts = await sherpa.OfflineTts.createAsync({
          model: modelConfig(voice, settings.threads),
          maxNumSentences: 1,
          silenceScale: 0.2,
          ruleFsts: voice.files.ruleFsts ?? "",
          ruleFars: voice.files.ruleFars ?? "",
        });
        loaded.set(voice.id, { tts, info: { id: voice.id, language: voice.language, speakers: tts.numSpeakers, sampleRate: tts.sampleRate } });
        log.info("loaded", { voice: voice.id, speakers: tts.numSpeakers, rate: tts.sampleRate, threads: settings.threads });
      } catch (e) {
        throw new NotReady(`cannot load the voice ${voice.id}: ${(e as Error).message}. Run "npm run setup -- --verify".`);
      }
    }
    if (loaded.size === 0) throw new NotReady("the model profile has no TTS voice");
    return new SherpaTts(loaded, settings);
  }

  voices(): VoiceInfo[] {
    return [...this.loaded.values()].map((v) => v.info);
  }

  async *synthesize(text: string, opts: SynthesizeOptions): AsyncIterable<AudioChunk> {
    const [id, speakerText] = opts.voice.split(":");
    const voice = this.loaded.get(id!);
    const speaker = Number(speakerText ?? 0);
    if (!voice || !Number.isInteger(speaker) || speaker < 0 || speaker >= voice.info.speakers) {
      throw new BadRequest(`unknown voice "${opts.voice}"`, "voice");
    }
    const speed = opts.speed ?? 1;
    if (!text.trim()) return;
    const chunks = new Channel<AudioChunk>();
    const stop = new AbortController();
    const onAbort = () => stop.abort();
    opts.signal?.addEventListener("abort", onAbort, { once: true });
    const sampleRate = voice.info.sampleRate;
    const job = this.queue.run(async () => {
      await voice.tts.generateAsync({
        text,
        sid: speaker,
        speed,
        enableExternalBuffer: false,
        onProgress: (info: { samples: Float32Array }) => {
          if (stop.signal.aborted) return 0;
          if (info.samples.length) chunks.push({ samples: Float32Array.from(info.samples), sampleRate });
          return 1;
        },
      });
    }, stop.signal);
    job.then(() => chunks.close(), (e) => chunks.close(e));
    try {
      for await (const chunk of chunks) yield chunk;
      if (opts.signal?.aborted) throw new Cancelled();
    } finally {
      stop.abort(); // consumer stopped early: end the synthesis
      opts.signal?.removeEventListener("abort", onAbort);
      await job.catch(() => {});
    }
  }

  close() {
    this.queue.close();
  }
}

function modelConfig(voice: TtsVoice, threads: number) {
  const f = voice.files;
  const common = { numThreads: threads, debug: 0, provider: "cpu" };
  switch (voice.type) {
    case "vits":
      return { ...common, vits: { model: f.model, tokens: f.tokens, dataDir: f.dataDir ?? "", lexicon: f.lexicon ?? "", dictDir: f.dictDir ?? "" } };
    case "matcha":
      return { ...common, matcha: { acousticModel: f.acousticModel, vocoder: f.vocoder, tokens: f.tokens, dataDir: f.dataDir ?? "", lexicon: f.lexicon ?? "", dictDir: f.dictDir ?? "" } };
    case "kokoro":
      return { ...common, kokoro: { model: f.model, voices: f.voices, tokens: f.tokens, dataDir: f.dataDir ?? "", lexicon: f.lexicon ?? "", dictDir: f.dictDir ?? "" } };
  }
}
