// Reply audio for toys: MP3 files in <state dir>/audio/, served at /audio/<name>, deleted after a TTL.
import { mkdirSync, readdirSync, statSync, unlinkSync } from "node:fs";
import { rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { logger } from "../../log.ts";
import { encodeMp3 } from "../../audio/mp3.ts";
import { resample } from "../../audio/resample.ts";
import type { AudioChunk } from "../../engines/types.ts";

const log = logger("toy");

/** Names we create and serve: no path tricks possible. */
const NAME = /^[a-z]+-[0-9a-f]{16,64}\.(mp3|wav)$/;
/** The toy plays MPEG-2 rates well; above 24 kHz a voice is resampled (smaller, faster downloads). */
export const TOY_MAX_RATE = 24000;
export const TOY_MP3_KBPS = 32;

/** A reply sentence as the toy downloads it: mono MP3, 16-24 kHz, ~32 kbps. */
export async function toyMp3(audio: AudioChunk): Promise<Uint8Array> {
  const samples = audio.sampleRate > TOY_MAX_RATE ? resample(audio.samples, audio.sampleRate, TOY_MAX_RATE) : audio.samples;
  return encodeMp3(samples, Math.min(audio.sampleRate, TOY_MAX_RATE), TOY_MP3_KBPS);
}

export class AudioStore {
  private timer?: ReturnType<typeof setInterval>;

  constructor(
    readonly dir: string,
    private readonly ttlSeconds: number,
  ) {}

  /** Creates the folder, deletes expired leftovers and starts the periodic sweep. */
  start(): void {
    mkdirSync(this.dir, { recursive: true });
    this.sweep();
    const every = Math.max(1000, Math.min(60_000, (this.ttlSeconds * 1000) / 4));
    this.timer = setInterval(() => this.sweep(), every);
    this.timer.unref?.();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Writes a file (atomically: a toy never downloads half of one) and returns its name. */
  async save(prefix: "voice" | "start" | "play" | "recording", bytes: Uint8Array, ext: "mp3" | "wav" = "mp3"): Promise<string> {
    const name = `${prefix}-${Buffer.from(crypto.getRandomValues(new Uint8Array(12))).toString("hex")}.${ext}`;
    const path = join(this.dir, name);
    await writeFile(`${path}.tmp`, bytes);
    await rename(`${path}.tmp`, path);
    return name;
  }

  /** Deletes files older than the TTL. Returns how many were deleted. */
  sweep(now = Date.now()): number {
    let deleted = 0;
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch {
      return 0;
    }
    for (const name of names) {
      const path = join(this.dir, name);
      try {
        if (now - statSync(path).mtimeMs >= this.ttlSeconds * 1000) {
          unlinkSync(path);
          deleted++;
        }
      } catch {
        // deleted meanwhile
      }
    }
    if (deleted) log.debug("deleted expired reply audio", { files: deleted });
    return deleted;
  }

  /** GET /audio/:file */
  async serve(name: string): Promise<Response> {
    if (!NAME.test(name)) return new Response("not found\n", { status: 404 });
    const file = Bun.file(join(this.dir, name));
    if (!(await file.exists())) return new Response("not found (expired?)\n", { status: 404 });
    return new Response(file, {
      headers: {
        "Content-Type": name.endsWith(".mp3") ? "audio/mpeg" : "audio/wav",
        "Content-Length": String(file.size),
        "Cache-Control": "no-store",
      },
    });
  }
}
