// The floors: the same models called directly, in this process, with the same thread counts as
// Hearth's engines, and none of Hearth's code in between. Whatever Hearth adds on top of these
// (HTTP, multipart, VAD, queues, SSE, encoding) is what the ratios measure.
import sherpa from "sherpa-onnx-node";
import { getLlama, LlamaChat, type ChatHistoryItem, type LlamaContext, type LlamaGrammar, type LlamaModel } from "node-llama-cpp";
import { recognizerConfig } from "../src/engines/stt/sherpa.ts";
import type { ChatMessage } from "../src/engines/types.ts";
import type { LlmModel, SttModel } from "../src/models/types.ts";
import { now } from "./stats.ts";

// ---- STT ------------------------------------------------------------------------------------

/** An OfflineRecognizer with the engine's own config, driven directly (no VAD, queue or HTTP). */
export function floorRecognizer(model: SttModel, threads: number, language = "auto"): any {
  return new sherpa.OfflineRecognizer(recognizerConfig(model, { threads, language }));
}

/** One direct decode of 16 kHz audio: the STT floor. */
export async function floorTranscribe(recognizer: any, samples: Float32Array): Promise<{ text: string; ms: number }> {
  const t0 = now();
  const stream = recognizer.createStream();
  stream.acceptWaveform({ sampleRate: 16000, samples });
  await recognizer.decodeAsync(stream);
  const text = String(recognizer.getResult(stream).text ?? "").trim();
  return { text, ms: now() - t0 };
}

// ---- LLM ------------------------------------------------------------------------------------

export interface FloorGeneration {
  text: string;
  /** ms from the call to the first text chunk (prompt evaluated + first token sampled). */
  ttftMs: number;
  totalMs: number;
  /** performance.now() of each text chunk. */
  chunkTimes: number[];
  startedAt: number;
}

/** node-llama-cpp directly: its own model handle and context, Hearth's thread count and context size. */
export class FloorLlm {
  private readonly grammars = new Map<string, Promise<LlamaGrammar>>();
  private chat!: LlamaChat;

  private constructor(
    private readonly llama: Awaited<ReturnType<typeof getLlama>>,
    readonly model: LlamaModel,
    private readonly context: LlamaContext,
  ) {
    this.chat = new LlamaChat({ contextSequence: context.getSequence() });
  }

  static async load(model: LlmModel, settings: { threads: number; contextSize: number; sequences: number }): Promise<FloorLlm> {
    const llama = await getLlama({ gpu: false, build: "never", logLevel: "warn" } as any);
    const loaded = await llama.loadModel({ modelPath: model.file });
    // Same context geometry as the engine (the KV cache size changes attention cost a little).
    const context = await loaded.createContext({ contextSize: settings.contextSize, sequences: settings.sequences, threads: settings.threads });
    return new FloorLlm(llama, loaded, context);
  }

  countTokens(text: string): number {
    return this.model.tokenize(text).length;
  }

  /** Forgets the evaluated prefix (a cold prompt next time). */
  async clear() {
    await this.chat.sequence.clearHistory();
  }

  async generate(
    messages: ChatMessage[],
    opts: { maxTokens?: number; temperature?: number; seed?: number; grammar?: string },
    onText?: (chunk: string, at: number) => void,
  ): Promise<FloorGeneration> {
    const grammar = opts.grammar ? await this.grammar(opts.grammar) : undefined;
    const history: ChatHistoryItem[] = messages.map((m) => (m.role === "assistant" ? { type: "model", response: [m.content] } : { type: m.role, text: m.content }));
    const chunkTimes: number[] = [];
    let text = "";
    const startedAt = now();
    await this.chat.generateResponse(history, {
      maxTokens: opts.maxTokens,
      temperature: opts.temperature,
      seed: opts.seed,
      grammar,
      // As the engine samples when a request gives no penalties (node-llama-cpp's default is a 1.1 repeat penalty).
      repeatPenalty: false,
      onTextChunk: (chunk) => {
        const at = now();
        chunkTimes.push(at);
        text += chunk;
        onText?.(chunk, at);
      },
    });
    const end = now();
    return { text, ttftMs: (chunkTimes[0] ?? end) - startedAt, totalMs: end - startedAt, chunkTimes, startedAt };
  }

  private grammar(text: string): Promise<LlamaGrammar> {
    let g = this.grammars.get(text);
    if (!g) {
      g = this.llama.createGrammar({ grammar: text });
      this.grammars.set(text, g);
    }
    return g;
  }

  async close() {
    await this.context.dispose();
    await this.model.dispose();
    // The Llama instance may be shared with the engine (getLlama caches it): not disposed here.
  }
}
