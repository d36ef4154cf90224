// Runs jobs one at a time, with a bounded number waiting. Used by engines whose native
// handle must not be driven by two calls at once (and on 2 cores, parallel decodes only thrash).
import { Busy, Cancelled } from "../errors.ts";

export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();
  private waiting = 0;
  private closed = false;

  constructor(
    private readonly maxWaiting: number,
    private readonly onDepth: (depth: number) => void = () => {},
  ) {}

  get depth(): number {
    return this.waiting;
  }

  run<T>(job: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    if (this.closed) return Promise.reject(new Cancelled("shutting down"));
    if (this.waiting >= this.maxWaiting) return Promise.reject(new Busy("the engine is busy; try again shortly"));
    this.waiting++;
    this.onDepth(this.waiting);
    const result = this.tail.then(() => {
      this.waiting--;
      this.onDepth(this.waiting);
      if (this.closed) throw new Cancelled("shutting down");
      if (signal?.aborted) throw new Cancelled();
      return job();
    });
    this.tail = result.catch(() => {});
    return result;
  }

  close() {
    this.closed = true;
  }
}
