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
/**
 * The toy plays MPEG-2 rates (16, 22.05, 24 kHz) well: above 24 kHz a voice is resampled down
 * (smaller, faster downloads), below 16 kHz up, since 8-12 kHz would be MPEG-2.5, which toy
 * firmware may not play (aishell3 speaks at 8 kHz).
 */
export const TOY_MAX_RATE = 24000;
export const TOY_MIN_RATE = 16000;
export const TOY_MP3_KBPS = 32;
/** The reply audio folder's size cap: ~2 hours of replies at 32 kbps, far more than a TTL's worth. */
export const MAX_AUDIO_BYTES = 256 * 1024 * 1024;

/** The rate a voice's audio is sent to a toy at. */
export function toyRate(sampleRate: number): number {
  return Math.min(TOY_MAX_RATE, Math.max(TOY_MIN_RATE, sampleRate));
}

/** A reply sentence as the toy downloads it: mono MP3, 16-24 kHz, ~32 kbps. */
export async function toyMp3(audio: AudioChunk): Promise<Uint8Array> {
  const rate = toyRate(audio.sampleRate);
  const samples = rate === audio.sampleRate ? audio.samples : resample(audio.samples, audio.sampleRate, rate);
  return encodeMp3(samples, rate, TOY_MP3_KBPS);
}

/**
 * The etag updatestartvoice carries: the greeting file's content hash (its name is
 * `start-<etag>.mp3`), so a toy that keeps greetings can tell a changed one from the same one.
 */
export function etagOf(url: string): string {
  return /\/start-([0-9a-f]{16,64})\.mp3$/.exec(url)?.[1] ?? "";
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

  /**
   * Writes a file (atomically: a toy never downloads half of one) and returns its name. Greetings
   * ("start") are named by their content (see etagOf); the others get a random name.
   */
  async save(prefix: "voice" | "start" | "play" | "recording", bytes: Uint8Array, ext: "mp3" | "wav" = "mp3"): Promise<string> {
    const id = prefix === "start" ? new Bun.CryptoHasher("sha256").update(bytes).digest("hex").slice(0, 32) : Buffer.from(crypto.getRandomValues(new Uint8Array(12))).toString("hex");
    const name = `${prefix}-${id}.${ext}`;
    const path = join(this.dir, name);
    const tmp = `${path}.${process.pid}-${Math.random().toString(16).slice(2)}.tmp`; // two saves of one greeting at once
    await writeFile(tmp, bytes);
    await rename(tmp, path);
    return name;
  }

  /**
   * Deletes files older than the TTL, then the oldest ones while the folder holds over
   * MAX_AUDIO_BYTES (the SD card never fills, whatever the rate of replies). Returns how many were deleted.
   */
  sweep(now = Date.now(), maxBytes = MAX_AUDIO_BYTES): number {
    let deleted = 0;
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch {
      return 0;
    }
    const kept: { path: string; at: number; size: number }[] = [];
    let total = 0;
    for (const name of names) {
      const path = join(this.dir, name);
      try {
        const stat = statSync(path);
        if (now - stat.mtimeMs >= this.ttlSeconds * 1000) {
          unlinkSync(path);
          deleted++;
        } else {
          kept.push({ path, at: stat.mtimeMs, size: stat.size });
          total += stat.size;
        }
      } catch {
        // deleted meanwhile
      }
    }
    if (total > maxBytes) {
      kept.sort((a, b) => a.at - b.at);
      for (const file of kept) {
        if (total <= maxBytes) break;
        try {
          unlinkSync(file.path);
          deleted++;
        } catch {}
        total -= file.size;
      }
      log.warn("reply audio folder over its size cap: the oldest files were deleted early", { cap: maxBytes });
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
