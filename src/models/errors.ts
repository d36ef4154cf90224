// The one error the model layer throws: what is wrong, and the exact command that fixes it.
import { NotReady } from "../errors.ts";

/** A model problem found by verification (see verify.ts). */
export interface ModelProblem {
  /** Model id from the manifest. */
  model: string;
  kind: string;
  /** Absolute path of the file or folder concerned. */
  path: string;
  reason: "not-installed" | "not-locked" | "missing" | "wrong-size" | "checksum" | "not-a-folder" | "not-a-file" | "not-pinned-file";
  /** One sentence naming the file, e.g. "model file /x/y.onnx is damaged: 10 bytes, expected 946". */
  message: string;
}

/**
 * Models are missing, damaged or cannot be fetched. A 503 (NotReady) when it reaches the HTTP
 * edge; its message is one line that ends with the command that fixes it, when there is one.
 */
export class ModelError extends NotReady {
  readonly fix: string | null;
  readonly problems: ModelProblem[];
  /** Time may fix it (the internet comes back, the USB stick is plugged in): a starting Hearth tries again. */
  readonly retryable: boolean;
  /** The short technical cause (a failed download's last reason, e.g. "HTTP 503"), when there is one. */
  readonly reason?: string;
  constructor(message: string, options: { fix?: string | null; problems?: ModelProblem[]; retryable?: boolean; reason?: string } = {}) {
    super(options.fix ? `${message}. Fix: ${options.fix}` : message);
    this.fix = options.fix ?? null;
    this.problems = options.problems ?? [];
    this.retryable = options.retryable ?? false;
    this.reason = options.reason;
  }
}
