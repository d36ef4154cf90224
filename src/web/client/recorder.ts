// Microphone capture as raw PCM (an AudioWorklet tap), so the console can send a WAV file:
// every server decodes WAV, while MediaRecorder's webm/opus or mp4/aac would need a decoder.
import { concatSamples } from "../../audio/bytes.ts";

const TAP = `
class HearthTap extends AudioWorkletProcessor {
  constructor() { super(); this.buffer = new Float32Array(4096); this.filled = 0; this.port.onmessage = () => this.flush(); }
  flush() { if (this.filled) this.port.postMessage(this.buffer.slice(0, this.filled)); this.filled = 0; this.port.postMessage(null); }
  process(inputs) {
    const channel = inputs[0] && inputs[0][0];
    if (channel) {
      for (let i = 0; i < channel.length; i++) {
        this.buffer[this.filled++] = channel[i];
        if (this.filled === this.buffer.length) { this.port.postMessage(this.buffer.slice()); this.filled = 0; }
      }
    }
    return true;
  }
}
registerProcessor("hearth-tap", HearthTap);
`;

export interface Recording {
  samples: Float32Array;
  sampleRate: number;
}

export class MicRecorder {
  private context?: AudioContext;
  private stream?: MediaStream;
  private node?: AudioWorkletNode;
  private chunks: Float32Array[] = [];

  /** getUserMedia exists only in secure contexts: https:// or http://localhost. */
  static available(): boolean {
    return !!navigator.mediaDevices?.getUserMedia && typeof AudioWorkletNode !== "undefined";
  }

  get seconds(): number {
    const n = this.chunks.reduce((sum, c) => sum + c.length, 0);
    return this.context ? n / this.context.sampleRate : 0;
  }

  async start(): Promise<void> {
    this.chunks = [];
    this.stream = await navigator.mediaDevices.getUserMedia({
      audio: { channelCount: 1, echoCancellation: true, noiseSuppression: true, autoGainControl: true },
    });
    try {
      this.context = new AudioContext();
      const url = URL.createObjectURL(new Blob([TAP], { type: "text/javascript" }));
      try {
        await this.context.audioWorklet.addModule(url);
      } finally {
        URL.revokeObjectURL(url);
      }
      this.node = new AudioWorkletNode(this.context, "hearth-tap", { channelCount: 1, channelCountMode: "explicit" });
      this.node.port.onmessage = (e: MessageEvent<Float32Array | null>) => {
        if (e.data) this.chunks.push(e.data);
      };
      this.context.createMediaStreamSource(this.stream).connect(this.node);
      // The tap writes no output, so this plays silence; it keeps the node pulled by the graph.
      this.node.connect(this.context.destination);
      await this.context.resume();
    } catch (e) {
      this.release();
      throw e;
    }
  }

  /** Stops capturing and returns everything heard, mono, at the AudioContext's rate. */
  async stop(): Promise<Recording> {
    const node = this.node;
    const sampleRate = this.context?.sampleRate ?? 48000;
    if (node) {
      // ask the tap for its partly filled buffer; it answers with it and then null
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 500);
        node.port.onmessage = (e: MessageEvent<Float32Array | null>) => {
          if (e.data) this.chunks.push(e.data);
          else {
            clearTimeout(timer);
            resolve();
          }
        };
        node.port.postMessage("flush");
      });
    }
    this.release();
    const samples = concatSamples(this.chunks);
    this.chunks = [];
    return { samples, sampleRate };
  }

  private release() {
    this.node?.disconnect();
    this.stream?.getTracks().forEach((t) => t.stop());
    void this.context?.close().catch(() => {});
    this.node = undefined;
    this.stream = undefined;
    this.context = undefined;
  }
}
