// A push-to-pull bridge: callbacks push values, a consumer pulls them with for-await.
export class Channel<T> implements AsyncIterable<T> {
  private readonly buffer: T[] = [];
  private waiting?: { resolve: (r: IteratorResult<T>) => void; reject: (e: unknown) => void };
  private done = false;
  private error: unknown;

  push(value: T) {
    if (this.done) return;
    if (this.waiting) {
      this.waiting.resolve({ value, done: false });
      this.waiting = undefined;
    } else this.buffer.push(value);
  }

  close(error?: unknown) {
    if (this.done) return;
    this.done = true;
    this.error = error;
    if (this.waiting) {
      if (error !== undefined) this.waiting.reject(error);
      else this.waiting.resolve({ value: undefined, done: true });
      this.waiting = undefined;
    }
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    while (true) {
      if (this.buffer.length) {
        yield this.buffer.shift()!;
        continue;
      }
      if (this.done) {
        if (this.error !== undefined) throw this.error;
        return;
      }
      const next = await new Promise<IteratorResult<T>>((resolve, reject) => (this.waiting = { resolve, reject }));
      if (next.done) return;
      yield next.value;
    }
  }
}
