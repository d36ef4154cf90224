// tokens.json: each toy's UDP token, selected role and advertised host, persisted so that a
// restart of Hearth is invisible to toys.
import { existsSync, readFileSync, renameSync } from "node:fs";
import { logger } from "../../log.ts";
import { writeFileDurable } from "../../util/durable.ts";

const log = logger("toy");

/** What survives a restart, per toy. */
export interface PersistedToy {
  /** 32 lowercase hex: the UDP token. */
  token: string;
  /** Selected role button. */
  role: number;
  /** Host last advertised to the toy (UDP and audio URLs), used when a toy sends audio before re-logging in. */
  host?: string;
  issuedAt: number;
}

/** tokens.json: SN -> token, role, advertised host. Written durably on every change. */
export class TokenStore {
  private toys: Record<string, PersistedToy> = {};
  private snByToken = new Map<string, string>();

  constructor(readonly file: string) {}

  load(): void {
    if (!existsSync(this.file)) return;
    try {
      const data = JSON.parse(readFileSync(this.file, "utf8"));
      const toys = data?.toys;
      if (typeof toys !== "object" || toys === null) throw new Error('no "toys" object');
      for (const [sn, t] of Object.entries(toys as Record<string, PersistedToy>)) {
        if (typeof t?.token !== "string" || !/^[0-9a-f]{32}$/.test(t.token)) continue;
        this.toys[sn] = { token: t.token, role: Number(t.role) || 1, host: typeof t.host === "string" ? t.host : undefined, issuedAt: Number(t.issuedAt) || 0 };
        this.snByToken.set(t.token, sn);
      }
      log.info("tokens loaded", { file: this.file, toys: this.snByToken.size });
    } catch (e) {
      const aside = `${this.file}.corrupt-${Date.now()}`;
      log.error("tokens file is unreadable; starting without tokens (toys get new ones at their next login)", { file: this.file, error: (e as Error).message, movedTo: aside });
      try {
        renameSync(this.file, aside);
      } catch {}
    }
  }

  /** The toy's token; a new random one the first time a toy logs in. Stable across logins and restarts. */
  tokenFor(sn: string): string {
    const known = this.toys[sn];
    if (known) return known.token;
    const token = Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString("hex");
    this.toys[sn] = { token, role: 1, issuedAt: Date.now() };
    this.snByToken.set(token, sn);
    this.save();
    return token;
  }

  snOf(token: string): string | undefined {
    return this.snByToken.get(token);
  }

  get(sn: string): PersistedToy | undefined {
    return this.toys[sn];
  }

  sns(): string[] {
    return Object.keys(this.toys);
  }

  /** Records a role or host change; writes only when something changed. */
  update(sn: string, patch: Partial<Pick<PersistedToy, "role" | "host">>): void {
    const t = this.toys[sn];
    if (!t) return;
    let changed = false;
    for (const [k, v] of Object.entries(patch) as [keyof typeof patch, any][]) {
      if (v !== undefined && t[k] !== v) {
        (t as any)[k] = v;
        changed = true;
      }
    }
    if (changed) this.save();
  }

  private save() {
    try {
      writeFileDurable(this.file, JSON.stringify({ version: 1, toys: this.toys }, null, 2) + "\n");
    } catch (e) {
      log.error("cannot write the tokens file: a restart will make toys re-login", { file: this.file, error: (e as Error).message });
    }
  }
}
