// The sizes, totals and pins that docs/models.md (and the README's profile table) show are the
// manifest's: the download table is generated from it, and the profile totals are its sums.
// On a mismatch the failure prints the text to paste.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { downloadName, getProfile, loadManifest, pinOf, type Manifest } from "../../../src/models/manifest.ts";
import { formatBytes } from "../../../src/models/progress.ts";
import { ROOT } from "../../support/paths.ts";

const manifest = loadManifest();
const docs = readFileSync(resolve(ROOT, "docs/models.md"), "utf8");
const START = "<!-- download table: generated from models/manifest.json, checked by test/models/docs.test.ts -->";
const END = "<!-- end of download table -->";

/** Profiles with downloads (every profile but the local-only test one). */
const realProfiles = (m: Manifest) => Object.keys(m.profiles).filter((name) => getProfile(m, name).models.every((x) => x.url));
const total = (name: string) => getProfile(manifest, name).models.reduce((n, m) => n + m.size, 0);

/** The table of every file a real profile downloads: name and URL, size, sha256 or "no pin known". */
function downloadTable(m: Manifest): string {
  const profiles = realProfiles(m);
  const rows = m.models
    .map((entry) => ({ entry, usedBy: profiles.filter((p) => getProfile(m, p).models.some((x) => x.id === entry.id)) }))
    .filter(({ entry, usedBy }) => entry.url && usedBy.length)
    .map(({ entry, usedBy }) => {
      const pin = pinOf(entry);
      const size = pin ? pin.size.toLocaleString("en-US") : `about ${formatBytes(entry.size)}`;
      return `| \`${entry.id}\` | ${usedBy.join(", ")} | [${downloadName(entry)}](${entry.url}) | ${size} | ${pin ? `\`${pin.sha256}\`` : "no pin known"} |`;
    });
  return [START, "", "| model | profiles | file (download it with this name) | bytes | sha256 |", "|---|---|---|---|---|", ...rows, "", END].join("\n");
}

describe("docs/models.md agrees with the manifest", () => {
  test("the download table is the one generated from the manifest", () => {
    const expected = downloadTable(manifest);
    const at = docs.indexOf(START);
    const actual = at < 0 ? "" : docs.slice(at, docs.indexOf(END, at) + END.length);
    if (actual !== expected) console.error(`docs/models.md: replace the download table with:\n\n${expected}\n`);
    expect(actual).toBe(expected);
  });

  test("the profile table's download totals are the sums of the manifest's sizes", () => {
    for (const name of realProfiles(manifest)) {
      const row = docs.split("\n").find((l) => l.startsWith(`| \`${name}\``));
      expect(row, `docs/models.md has no profile row for ${name}`).toBeDefined();
      expect(row!.trimEnd()).toEndWith(`| about ${formatBytes(total(name))} |`);
    }
    expect(realProfiles(manifest).sort()).toEqual(["pi", "pi-8gb", "pi-yue"]);
  });
});

describe("README.md agrees with the manifest", () => {
  test("the profile table's download totals are the sums of the manifest's sizes", () => {
    const readme = readFileSync(resolve(ROOT, "README.md"), "utf8");
    for (const name of realProfiles(manifest)) {
      const row = readme.split("\n").find((l) => l.startsWith(`| \`${name}\``));
      expect(row, `README.md has no profile row for ${name}`).toBeDefined();
      expect(row!.trimEnd()).toEndWith(`| ~${formatBytes(total(name))} |`);
    }
  });
});
