// Where things are, wherever the checkout is: the repo root, and shared/ beside it (fixtures).
import { join, resolve } from "node:path";

export const ROOT = resolve(import.meta.dir, "../..");
export const SHARED = resolve(ROOT, "../shared");
/** Recorded utterances (utt01..08.wav, transcripts.tsv). */
export const AUDIO = join(SHARED, "audio");
