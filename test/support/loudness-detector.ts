// A scripted speech detector for logic tests: speech where the samples are non-zero, its end after
// `silence` zero samples. Fits both the xiaozhi listener's SpeechDetector and listen.ts's PauseDetector.
export class LoudnessDetector {
  private inSpeech = false;
  private quiet = 0;
  resets = 0;
  constructor(private readonly silence: number) {}
  push(samples: Float32Array): ("start" | "end")[] {
    const edges: ("start" | "end")[] = [];
    for (const x of samples) {
      if (x !== 0) {
        this.quiet = 0;
        if (!this.inSpeech) edges.push("start");
        this.inSpeech = true;
      } else if (this.inSpeech && ++this.quiet >= this.silence) {
        this.inSpeech = false;
        edges.push("end");
      }
    }
    return edges;
  }
  reset() {
    this.inSpeech = false;
    this.quiet = 0;
    this.resets++;
  }
}
