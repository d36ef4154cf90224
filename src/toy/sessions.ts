// Per-toy state: tokens (persisted, so a restart of Hearth is invisible to toys), the selected
// role, settings reports, and conversation history with its token budget.
import { existsSync, readFileSync, renameSync } from "node:fs";
import type { ToyStatus } from "../pipeline/types.ts";
import { logger } from "../log.ts";
import { writeFileAtomic } from "./roles.ts";

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

/** tokens.json: SN -> token, role, advertised host. Written atomically on every change. */
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
      writeFileAtomic(this.file, JSON.stringify({ version: 1, toys: this.toys }, null, 2) + "\n");
    } catch (e) {
      log.error("cannot write the tokens file: a restart will make toys re-login", { file: this.file, error: (e as Error).message });
    }
  }
}

/** One earlier exchange with a toy. */
export interface Exchange {
  user: string;
  assistant: string;
}

/** Tokens a chat template adds around each message (role markers, separators): a safe estimate. */
export const MESSAGE_OVERHEAD_TOKENS = 8;

/**
 * The newest earlier exchanges to send: at most `maxCount`, and only as many as fit in
 * `budgetTokens` (a context overflow would stop replies altogether). Keeps order.
 */
export function selectHistory(history: readonly Exchange[], maxCount: number, budgetTokens: number, countTokens: (text: string) => number): Exchange[] {
  const out: Exchange[] = [];
  let left = budgetTokens;
  for (let i = history.length - 1; i >= 0 && out.length < maxCount; i--) {
    const e = history[i]!;
    const cost = countTokens(e.user) + countTokens(e.assistant) + 2 * MESSAGE_OVERHEAD_TOKENS;
    if (cost > left) break;
    left -= cost;
    out.push(e);
  }
  return out.reverse();
}

/** A toy as Hearth knows it while running. */
export class ToySession {
  role = 1;
  connected = false;
  lastSeen = 0;
  battery?: number | null;
  firmware?: string;
  /** The toy's own IP (remote end of its MQTT connection), when known. */
  address?: string;
  /** This machine's address on the toy's MQTT connection (embedded broker only). */
  localAddress?: string;
  /** The latest data_config / real_time_data reports, as sent. */
  dataConfig?: Record<string, unknown>;
  realTimeData?: Record<string, unknown>;
  /** History per role button: switching roles and back keeps each role's conversation. */
  private readonly histories = new Map<number, Exchange[]>();
  /** The running turn, cancelled by a newer recording. */
  turn?: AbortController;
  /** The use_record_enc hint was logged for this toy. */
  hintedEncoded = false;

  constructor(readonly sn: string) {}

  history(role = this.role): Exchange[] {
    let h = this.histories.get(role);
    if (!h) this.histories.set(role, (h = []));
    return h;
  }

  /** Appends an exchange, keeping at most `keep` (the rest could never be sent). */
  remember(role: number, exchange: Exchange, keep: number) {
    const h = this.history(role);
    h.push(exchange);
    if (h.length > keep) h.splice(0, h.length - keep);
  }

  clearHistory(role = this.role) {
    this.histories.delete(role);
  }

  status(): ToyStatus {
    return {
      sn: this.sn,
      role: this.role,
      connected: this.connected,
      lastSeen: this.lastSeen,
      battery: this.battery,
      firmware: this.firmware,
      address: this.address,
    };
  }

  /** Takes what is useful from a data_config / real_time_data report. */
  applyData(identifier: string, params: Record<string, unknown>) {
    if (identifier === "data_config") {
      this.dataConfig = params;
      const fw = params.software_version ?? params.hardware_ver;
      if (typeof fw === "string" || typeof fw === "number") this.firmware = String(fw);
    } else if (identifier === "real_time_data") {
      this.realTimeData = params;
    }
    const battery = findBattery(params);
    if (battery !== undefined) this.battery = battery;
  }
}

/** real_time_data is [U]: look for anything that reads like a battery level (percent or volts). */
function findBattery(params: Record<string, unknown>): number | undefined {
  for (const key of ["battery", "battery_level", "batteryLevel", "battery_percent", "power", "electricity", "voltage", "battery_voltage"]) {
    const v = params[key];
    const n = typeof v === "string" ? Number(v) : v;
    if (typeof n === "number" && Number.isFinite(n)) return n;
  }
  return undefined;
}
