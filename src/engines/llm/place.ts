// A place among the requests an LLM backend runs or queues (Llm.reserve): held until a chat call
// takes it over with `use`, then given back by `finish`, or given back unused by `release`.
import type { LlmReservation } from "../types.ts";

export class Place implements LlmReservation {
  private state: "held" | "in use" | "released" = "held";

  constructor(
    /** The backend that gave it: a place is only good with the engine it came from. */
    readonly owner: object,
    private readonly giveBack: () => void,
  ) {}

  release() {
    if (this.state === "held") this.end();
  }

  /** Taken over by a chat call, which gives it back with `finish`; false if it was already released. */
  use(): boolean {
    if (this.state !== "held") return false;
    this.state = "in use";
    return true;
  }

  finish() {
    if (this.state === "in use") this.end();
  }

  private end() {
    this.state = "released";
    this.giveBack();
  }
}
