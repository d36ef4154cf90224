// Fake engines for tests about the logic around the engines (the turn runner: cancellation,
// timeouts, queueing, order): scripted text, tone audio, controllable delays and failures.
// Tests of the engines themselves use the real ones on the fixture models.
import type { AudioChunk, ChatMessage, ChatOptions, ChatResult, Engines, Llm, LlmReservation, Stt, SynthesizeOptions, ToolCall, Transcript, Tts, Vad, VoiceInfo } from "../../src/engines/types.ts";
import { Busy, Cancelled } from "../../src/errors.ts";

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(new Cancelled());
    const t = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => (clearTimeout(t), reject(new Cancelled())), { once: true });
  });

export class FakeStt implements Stt {
  readonly id = "fake-stt";
  readonly languages = ["en"];
  /** What the next recordings "say" (the last one repeats). */
  transcripts: string[] = ["hello there"];
  delayMs = 0;
  calls = 0;
  async transcribe(samples: Float32Array, sampleRate: number, opts: { signal?: AbortSignal } = {}): Promise<Transcript> {
    await sleep(this.delayMs, opts.signal);
    const text = this.transcripts[Math.min(this.calls++, this.transcripts.length - 1)]!;
    return { text, language: "en", duration: samples.length / sampleRate, segments: text ? [{ start: 0, end: 1, text }] : [] };
  }
  close() {}
}

export class FakeLlm implements Llm {
  readonly id = "fake-llm";
  readonly tokensPerConversation = 2048;
  /** Runs the tools a chat offers (as the local backend); false = a backend that ignores them. */
  supportsTools = true;
  /** The reply, streamed word by word. */
  reply = "Once upon a time. There was a rabbit. The end.";
  /**
   * When set, the replies of successive chats instead (the last one repeats): text, then tool
   * calls, which come back only when the chat offered tools (as a real model's).
   */
  script?: { text?: string; toolCalls?: ToolCall[] }[];
  /** Every chat's options, in call order. */
  readonly options: ChatOptions[] = [];
  promptDelayMs = 0;
  tokenDelayMs = 0;
  /** Thrown by the next chat calls, when set. */
  failWith?: Error;
  /** Chats that may run at once; more wait; more than maxQueue waiting get Busy. */
  slots = 1;
  maxQueue = 4;
  /** Every chat's messages, in call order. */
  readonly seen: ChatMessage[][] = [];
  readonly aborted: boolean[] = [];
  readonly forgotten: string[] = [];
  private active = 0;
  private waiting: (() => void)[] = [];

  countTokens(text: string) {
    return Math.ceil(text.length / 4);
  }
  get queueDepth() {
    return this.waiting.length;
  }
  reserve(): LlmReservation {
    if (this.active + this.waiting.length >= this.slots + this.maxQueue) throw new Busy("the language model is busy");
    return { release() {} };
  }
  countPromptTokens(messages: ChatMessage[]) {
    return messages.reduce((n, m) => n + this.countTokens(m.content) + 4, 0);
  }
  async chat(messages: ChatMessage[], opts: ChatOptions, onText: (chunk: string) => void): Promise<ChatResult> {
    this.seen.push(messages);
    this.options.push(opts);
    const step = this.script ? this.script[Math.min(this.seen.length - 1, this.script.length - 1)]! : { text: this.reply };
    const index = this.aborted.push(false) - 1;
    opts.signal?.addEventListener("abort", () => (this.aborted[index] = true), { once: true });
    if (this.active >= this.slots) {
      if (this.waiting.length >= this.maxQueue) throw new Busy("the language model is busy");
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
    this.active++;
    try {
      if (this.failWith) throw this.failWith;
      await sleep(this.promptDelayMs, opts.signal);
      opts.onPromptDone?.();
      const words = (step.text ?? "").split(/(?<= )/);
      for (const w of words) {
        await sleep(this.tokenDelayMs, opts.signal);
        onText(w);
      }
      const toolCalls = opts.tools?.length ? step.toolCalls : undefined;
      return { finishReason: "stop", promptTokens: 10, completionTokens: words.length, ...(toolCalls?.length ? { toolCalls } : {}) };
    } finally {
      this.active--;
      this.waiting.shift()?.();
    }
  }
  forgetConversation(id: string) {
    this.forgotten.push(id);
  }
  async close() {}
}

export class FakeTts implements Tts {
  readonly sampleRate = 16000;
  delayMs = 0;
  failWith?: Error;
  readonly spoken: string[] = [];
  voices(): VoiceInfo[] {
    return [
      { id: "tone", language: "en", speakers: 2, sampleRate: this.sampleRate },
      { id: "tonezh", language: "zh", speakers: 1, sampleRate: this.sampleRate },
    ];
  }
  async *synthesize(text: string, opts: SynthesizeOptions): AsyncIterable<AudioChunk> {
    await sleep(this.delayMs, opts.signal);
    if (this.failWith) throw this.failWith;
    this.spoken.push(text);
    // 10 ms of tone per character: the length follows the text
    const samples = new Float32Array(Math.round(text.length * 0.01 * this.sampleRate));
    for (let i = 0; i < samples.length; i++) samples[i] = 0.3 * Math.sin((2 * Math.PI * 220 * i) / this.sampleRate);
    yield { samples, sampleRate: this.sampleRate };
  }
  close() {}
}

export class FakeVad implements Vad {
  readonly sampleRate = 16000;
  async segments(samples: Float32Array) {
    return [{ start: 0, samples }];
  }
}

export function fakeEngines() {
  const stt = new FakeStt();
  const llm = new FakeLlm();
  const tts = new FakeTts();
  const vad = new FakeVad();
  const engines = { profile: undefined as unknown as Engines["profile"], stt, llm, tts, vad } satisfies Engines;
  return { engines, stt, llm, tts, vad };
}

/** One second of quiet noise: something for FakeStt to "hear". */
export function someAudio(): { samples: Float32Array; sampleRate: number } {
  return { samples: new Float32Array(16000).map(() => (Math.random() - 0.5) * 0.01), sampleRate: 16000 };
}
