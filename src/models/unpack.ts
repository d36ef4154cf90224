// Unpacks a .tar.bz2 with the system tar (which runs bzip2), feeding it through stdin so the
// bytes read can be shown as progress and hashed for the lock on the way.
import { createReadStream } from "node:fs";
import { ModelError } from "./errors.ts";
import { progressFactory, type ProgressFactory } from "./progress.ts";

export interface UnpackResult {
  /** Size and sha256 of the archive as read. */
  size: number;
  sha256: string;
}

/** Throws a ModelError saying what to install when tar or bzip2 is missing. */
export function checkTarTools(which: (cmd: string) => string | null = (cmd) => Bun.which(cmd)): void {
  const missing = ["tar", "bzip2"].filter((cmd) => !which(cmd));
  if (missing.length) {
    throw new ModelError(
      `unpacking .tar.bz2 model archives needs the system program${missing.length > 1 ? "s" : ""} ${missing.map((m) => `\`${m}\``).join(" and ")}, not found on PATH`,
      { fix: `sudo apt-get install -y ${missing.join(" ")}` },
    );
  }
}

/** Extracts archive into destDir (which must exist). Throws ModelError with tar's own words on failure. */
export async function unpackTarBz2(archive: string, destDir: string, options: { label?: string; detail?: string; progress?: ProgressFactory } = {}): Promise<UnpackResult> {
  checkTarTools();
  const file = Bun.file(archive);
  const total = file.size;
  const progress = (options.progress ?? progressFactory("none"))({ label: options.label ?? archive, verb: "unpacking", detail: options.detail, total });
  const proc = Bun.spawn(["tar", "-xjf", "-", "-C", destDir, "--no-same-owner"], { stdin: "pipe", stdout: "ignore", stderr: "pipe" });
  const stderr = new Response(proc.stderr).text();
  const hasher = new Bun.CryptoHasher("sha256");
  let done = 0;
  let writeError: Error | null = null;
  try {
    for await (const buf of createReadStream(archive, { highWaterMark: 1 << 20 })) {
      const chunk = buf as Buffer;
      hasher.update(chunk);
      done += chunk.length;
      try {
        proc.stdin.write(chunk);
        await proc.stdin.flush();
      } catch (e) {
        writeError = e as Error; // tar stopped reading (bad archive): its exit status says why
        break;
      }
      progress.update(done);
    }
    try {
      await proc.stdin.end();
    } catch {}
  } catch (e) {
    proc.kill();
    progress.fail();
    throw new ModelError(`cannot read ${archive}: ${(e as Error).message}`);
  }
  const code = await proc.exited;
  if (code !== 0 || writeError) {
    progress.fail();
    const why = (await stderr).trim().split("\n").slice(0, 3).join(" / ") || writeError?.message || `tar exited with ${code}`;
    throw new ModelError(`cannot unpack ${archive}: ${why} (the archive is damaged or incomplete)`);
  }
  progress.finish();
  return { size: done, sha256: hasher.digest("hex") };
}
