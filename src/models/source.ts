// Where a model is in a local source folder (HEARTH_MODELS_FROM: a USB stick, a shared folder).
// Accepted, in this order:
//   <from>/<local>              the manifest's layout, e.g. stt/whisper-tiny.en-int8 (a folder,
//                               an archive or a single file)
//   <from>/<id>/                another Hearth's models folder
//   <from>/<archive name>       the published archive, as downloaded (e.g. vits-piper-en_US-amy-low.tar.bz2)
//   <from>/<archive stem>/      that archive already unpacked
//   <from>/<file name>          a single-file model as downloaded (e.g. qwen2.5-0.5b-instruct-q4_k_m.gguf)
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { ModelError } from "./errors.ts";
import { downloadName, requiredPaths, type ModelEntry } from "./manifest.ts";

export interface LocalSource {
  kind: "folder" | "archive" | "file";
  path: string;
}

/** Throws ModelError when the folder itself is missing. */
export function checkSourceFolder(from: string): void {
  let ok = false;
  try {
    ok = statSync(from).isDirectory();
  } catch {}
  if (!ok) {
    throw new ModelError(
      `the local models folder ${from} (HEARTH_MODELS_FROM or [models] from) does not exist or is not a folder: mount the USB stick or correct the path, or leave it empty to download from the internet`,
      { retryable: true },
    );
  }
}

/** Finds the model under from. Throws ModelError listing every place looked at. */
export function findLocalSource(from: string, entry: ModelEntry): LocalSource {
  const required = requiredPaths(entry);
  const singleFile = required.length === 1 && !required[0]!.folder ? required[0]!.path : null;
  const published = downloadName(entry);
  const candidates: string[] = [entry.local, entry.id];
  if (published) {
    candidates.push(published);
    if (published.endsWith(".tar.bz2")) candidates.push(published.slice(0, -".tar.bz2".length));
  }
  if (singleFile) candidates.push(singleFile.split("/").pop()!);
  const looked: string[] = [];
  for (const rel of [...new Set(candidates)]) {
    const path = join(from, rel);
    let st;
    try {
      st = statSync(path);
    } catch {
      looked.push(path);
      continue;
    }
    if (st.isDirectory()) {
      const missing = required.filter((r) => !existsSync(join(path, r.path)));
      if (missing.length === 0) return { kind: "folder", path };
      looked.push(`${path} (a folder without ${missing.map((m) => m.path).join(", ")})`);
    } else if (path.endsWith(".tar.bz2")) {
      return { kind: "archive", path };
    } else if (singleFile) {
      return { kind: "file", path };
    } else {
      looked.push(`${path} (a file, but this model is a folder)`);
    }
  }
  const where = published ? ` (download it from ${entry.url} and put it there)` : "";
  throw new ModelError(`${entry.kind} model ${entry.id} is not in ${from}: looked for ${looked.join(", ")}${where}`);
}
