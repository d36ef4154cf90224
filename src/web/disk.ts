// Disk use of the models in use, for the console's Models page: the bytes of every file (and
// folder) a model of the profile is loaded from, counted once per profile, plus the space left.
import { lstatSync, readdirSync, statfsSync } from "node:fs";
import { join } from "node:path";
import type { ResolvedProfile } from "../models/types.ts";
import type { ModelDisk } from "./routes.ts";

const counted = new WeakMap<ResolvedProfile, Record<string, number>>();

/** Bytes under a path (a file, or a folder walked without following links); 0 when missing. */
function bytesUnder(path: string): number {
  try {
    const st = lstatSync(path);
    if (st.isFile()) return st.size;
    if (!st.isDirectory()) return 0;
    return readdirSync(path).reduce((n, name) => n + bytesUnder(join(path, name)), 0);
  } catch {
    return 0;
  }
}

function perModel(profile: ResolvedProfile): Record<string, number> {
  let sizes = counted.get(profile);
  if (sizes) return sizes;
  const paths: [string, string[]][] = [
    [profile.stt.id, Object.values(profile.stt.files)],
    [profile.llm.id, [profile.llm.file]],
    ...profile.tts.map((v): [string, string[]] => [v.id, Object.values(v.files)]),
    [profile.vad.id, [profile.vad.file]],
  ];
  sizes = {};
  for (const [id, files] of paths) sizes[id] = (sizes[id] ?? 0) + [...new Set(files)].reduce((n, f) => n + bytesUnder(f), 0);
  counted.set(profile, sizes);
  return sizes;
}

/** Disk use of the profile's models (counted once) and the free space in modelsDir (read each time). */
export function modelDisk(modelsDir: string, profile: ResolvedProfile | undefined): ModelDisk | undefined {
  if (!profile) return undefined;
  const models = perModel(profile);
  const total = Object.values(models).reduce((a, b) => a + b, 0);
  let free: number | undefined;
  try {
    const fs = statfsSync(modelsDir);
    free = fs.bavail * fs.bsize;
  } catch {}
  return { models, total, free };
}
