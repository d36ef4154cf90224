// Hostile uploads for the hardening tests, made at test time with ffmpeg and kept in one folder
// under the system's temp dir for the whole run (the hour of Opus takes a few seconds to encode).
//
//   silence-1h.opus     one hour of Ogg/Opus silence, ~1 MB (decodes to 660 MB at 48 kHz)
//   silence-2h.flac     two hours of stereo FLAC silence in 65535-sample frames, ~0.1 MB (2.7 GB)
//   silence-1h.webm     the same Opus packets in WebM (no duration a decoder could trust)
//   *-lying.*           the same with the duration in the header hidden (Ogg granule, FLAC total samples)
import { existsSync, mkdirSync, readFileSync, renameSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const FIXTURES = join(tmpdir(), "hearth-hardening-fixtures");

function ffmpeg(out: string, args: string[]) {
  if (existsSync(out)) return;
  mkdirSync(FIXTURES, { recursive: true });
  const tmp = `${out}.${process.pid}.part${out.slice(out.lastIndexOf("."))}`;
  const proc = Bun.spawnSync(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", ...args, tmp], { stderr: "pipe" });
  if (proc.exitCode !== 0) throw new Error(`ffmpeg ${args.join(" ")} failed: ${proc.stderr.toString()}`);
  renameSync(tmp, out);
}

/** The path of a fixture, made the first time it is asked for. */
export async function hostileUpload(name: "silence-1h.opus" | "silence-2h.flac" | "silence-1h.webm" | "silence-1h-lying.opus" | "silence-2h-lying.flac"): Promise<string> {
  const path = join(FIXTURES, name);
  const opus = join(FIXTURES, "silence-1h.opus");
  const flac = join(FIXTURES, "silence-2h.flac");
  ffmpeg(opus, ["-f", "lavfi", "-i", "anullsrc=r=48000:cl=mono", "-t", "3600", "-c:a", "libopus", "-b:a", "6k", "-frame_duration", "60", "-compression_level", "0", "-application", "voip"]);
  ffmpeg(flac, ["-f", "lavfi", "-i", "anullsrc=r=48000:cl=stereo", "-t", "7200", "-c:a", "flac", "-frame_size", "65535"]);
  if (name === "silence-1h.webm") ffmpeg(path, ["-i", opus, "-c", "copy", "-f", "webm"]);
  if (name === "silence-1h-lying.opus" && !existsSync(path)) await Bun.write(path, hideOggDuration(new Uint8Array(await Bun.file(opus).arrayBuffer())));
  if (name === "silence-2h-lying.flac" && !existsSync(path)) await Bun.write(path, hideFlacDuration(new Uint8Array(await Bun.file(flac).arrayBuffer())));
  return path;
}

/** Zeroes the granule position of the pages at the end (what a duration check from the header reads). */
function hideOggDuration(bytes: Uint8Array): Uint8Array {
  for (let at = bytes.length - 27; at >= Math.max(0, bytes.length - 65536); at--) {
    if (bytes[at] === 0x4f && bytes[at + 1] === 0x67 && bytes[at + 2] === 0x67 && bytes[at + 3] === 0x53) bytes.fill(0, at + 6, at + 14);
  }
  return bytes;
}

/** Sets STREAMINFO's total samples to 0 ("unknown"), as a streamed FLAC has it. */
function hideFlacDuration(bytes: Uint8Array): Uint8Array {
  const info = 8; // after "fLaC" and the metadata block header
  bytes[info + 13] = bytes[info + 13]! & 0xf0;
  bytes.fill(0, info + 14, info + 18);
  return bytes;
}

/** Peak and current RSS of a process, in MB, from /proc (Linux). */
export function memoryOf(pid: number): { rssMb: number; peakMb: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? NaN);
  return { rssMb: Math.round(kb("VmRSS") / 1024), peakMb: Math.round(kb("VmHWM") / 1024) };
}
