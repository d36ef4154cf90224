// A counting gate: at most `running` holders at a time and `waiting` in line behind them; anyone
// more is refused at once with the caller's error (a 429, typically). Bounds what work in
// progress holds in memory without a queue that can grow.
import { Cancelled } from "../errors.ts";

export class Gate {
  private holders = 0;
  private readonly line: (() => void)[] = [];

  constructor(
    private readonly running: number,
    private readonly waiting: number,
    private readonly refuse: (busy: number) => Error,
  ) {}

  /** Holders plus those in line. */
  get busy(): number {
    return this.holders + this.line.length;
  }

  /** Waits for a place (rejects with Cancelled when `signal` aborts first); resolves with the function that gives it back. */
  async enter(signal?: AbortSignal): Promise<() => void> {
    if (this.holders < this.running) this.holders++;
    else {
      if (this.line.length >= this.waiting) throw this.refuse(this.busy);
      await new Promise<void>((resolve, reject) => {
        const go = () => {
          signal?.removeEventListener("abort", gone);
          resolve();
        };
        const gone = () => {
          const i = this.line.indexOf(go);
          if (i >= 0) this.line.splice(i, 1);
          reject(new Cancelled("the client went away"));
        };
        this.line.push(go);
        signal?.addEventListener("abort", gone, { once: true });
      });
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.line.shift();
      if (next) next(); // the place passes straight on
      else this.holders--;
    };
  }
}
