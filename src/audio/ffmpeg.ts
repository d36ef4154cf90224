// Phone recordings with no WASM decoder here (MP4/M4A with AAC or ALAC, raw AAC, AIFF, AMR, CAF,
// Speex) are decoded by the system's ffmpeg when it is installed (the Pi installer installs it).
// The file goes through a temporary file: MP4 often keeps its index at the end, which a pipe
// cannot seek to. ffmpeg stops at the duration limit, so memory stays bounded.
import { rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BadRequest, TooLarge } from "../errors.ts";
import { s16leToFloat } from "./pcm.ts";

export const FFMPEG_RATE = 16000;

export function ffmpegAvailable(): boolean {
  return Bun.which("ffmpeg", { PATH: process.env.PATH ?? "" }) !== null;
}

export async function decodeWithFfmpeg(bytes: Uint8Array, what: string, maxSeconds?: number): Promise<{ samples: Float32Array; sampleRate: number }> {
  const file = join(tmpdir(), `hearth-upload-${process.pid}-${crypto.randomUUID()}`);
  await writeFile(file, bytes, { mode: 0o600 });
  try {
    const limit = maxSeconds !== undefined ? ["-t", String(maxSeconds + 1)] : [];
    const proc = Bun.spawn(["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-i", file, ...limit, "-vn", "-ac", "1", "-ar", String(FFMPEG_RATE), "-f", "s16le", "pipe:1"], {
      stdout: "pipe",
      stderr: "pipe",
    });
    const [pcm, errors, code] = await Promise.all([new Response(proc.stdout).arrayBuffer(), new Response(proc.stderr).text(), proc.exited]);
    if (code !== 0 || pcm.byteLength === 0) {
      const reason = errors.trim().split("\n").at(-1) || `ffmpeg exited with ${code}`;
      throw new BadRequest(`could not decode ${what}: ${reason}`, "file");
    }
    const samples = s16leToFloat(new Uint8Array(pcm));
    const seconds = samples.length / FFMPEG_RATE;
    if (maxSeconds !== undefined && seconds > maxSeconds) {
      throw new TooLarge(`audio ${what} is too long; the limit is ${maxSeconds} s ([http] max_audio_seconds)`, "file");
    }
    return { samples, sampleRate: FFMPEG_RATE };
  } finally {
    await rm(file, { force: true });
  }
}
