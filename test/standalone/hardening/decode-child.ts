// Decodes one file in a process of its own and reports the outcome and the process's peak memory,
// so that a test can tell "refused within bounded memory" from "refused after 2.5 GB".
//   bun decode-child.ts <file> <maxSeconds> <maxSampleRate>
import { decodeAudio } from "../../../src/audio/decode.ts";
import { memoryOf } from "./fixtures.ts";

const [file, maxSeconds, maxSampleRate] = process.argv.slice(2);
const bytes = new Uint8Array(await Bun.file(file!).arrayBuffer());
const started = performance.now();
let outcome: Record<string, unknown>;
try {
  const audio = await decodeAudio(bytes, { maxSeconds: Number(maxSeconds), maxSampleRate: Number(maxSampleRate) || undefined });
  outcome = { ok: true, format: audio.format, seconds: audio.samples.length / audio.sampleRate, sampleRate: audio.sampleRate };
} catch (e) {
  outcome = { ok: false, error: (e as Error).name, status: (e as { status?: number }).status, message: (e as Error).message };
}
// VmHWM, not getrusage's maxRSS: Linux carries maxRSS over from the parent across fork and exec
const { peakMb } = memoryOf(process.pid);
console.log(JSON.stringify({ ...outcome, ms: Math.round(performance.now() - started), peakMb }));
