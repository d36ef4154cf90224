// What a parent or teacher decides per device: a nickname, whether the AI answers at all, quiet
// hours per weekday, a daily talk-time limit, and the role it talks as (chosen in the console,
// over the toy's own role button). Kept in <[state] dir>/devices.json; checked before every turn,
// so a toy that must rest says so kindly and hears nothing else.
import { existsSync, readFileSync, renameSync } from "node:fs";
import { z } from "zod";
import { quietHoursSchema } from "../config/schema.ts";
import { logger } from "../log.ts";
import { writeFileDurable } from "../util/durable.ts";

const log = logger("controls");


export const controlsSchema = z.strictObject({
  nickname: z.string().trim().max(40).optional(),
  /** false: the toy answers every question with a friendly resting line. */
  aiEnabled: z.boolean().optional(),
  quietHours: z.array(quietHoursSchema).max(14).optional(),
  /** Minutes of talk (the child's speech and the toy's replies) per day; 0 = no limit. */
  dailyLimitMinutes: z.number().int().min(0).max(24 * 60).optional(),
});

export type QuietHours = z.infer<typeof quietHoursSchema>;
export type DeviceControls = z.infer<typeof controlsSchema>;

/** Why a turn may not run now; each has its own friendly line. */
export type Pause = "resting" | "quiet_hours" | "daily_limit";

/** A role key of roles.json ("1".."7"). */
export const roleKeySchema = z.string().regex(/^\d{1,3}$/, "a role number of roles.json, e.g. \"2\"");

interface Stored {
  controls: DeviceControls;
  /** The role a parent chose in the console; absent = the device's own choice (role button, [xiaozhi] role). */
  role?: string;
  /** Talk time counted today (local date), in seconds. */
  usage?: { date: string; seconds: number };
}

export interface ControlDefaults {
  quietHours: QuietHours[];
  dailyLimitMinutes: number;
}

const deviceKey = (frontEnd: string, device: string) => `${frontEnd}:${device}`;
const localDate = (now: Date) => `${now.getFullYear()}-${String(now.getMonth() + 1).padStart(2, "0")}-${String(now.getDate()).padStart(2, "0")}`;
const minutesOf = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3));

/** True when `now` falls in one of the quiet times (local time). */
export function inQuietHours(rules: QuietHours[], now: Date): boolean {
  const minute = now.getHours() * 60 + now.getMinutes();
  const today = now.getDay();
  const yesterday = (today + 6) % 7;
  return rules.some((r) => {
    const from = minutesOf(r.from);
    const to = minutesOf(r.to);
    const on = (day: number) => !r.days || r.days.includes(day);
    if (from === to) return false;
    if (from < to) return on(today) && minute >= from && minute < to;
    // past midnight: the evening part belongs to today's rule, the morning part to yesterday's
    return (on(today) && minute >= from) || (on(yesterday) && minute < to);
  });
}

export class DeviceControlsStore {
  private devices: Record<string, Stored> = {};

  constructor(
    readonly file: string,
    private readonly defaults: ControlDefaults,
  ) {}

  load(): void {
    if (!existsSync(this.file)) return;
    try {
      const data = JSON.parse(readFileSync(this.file, "utf8"));
      for (const [key, value] of Object.entries((data?.devices ?? {}) as Record<string, Stored>)) {
        const parsed = controlsSchema.safeParse(value?.controls ?? {});
        if (!parsed.success) continue;
        const usage = value?.usage && typeof value.usage.date === "string" && Number.isFinite(value.usage.seconds) ? value.usage : undefined;
        const role = roleKeySchema.safeParse(value?.role).data;
        this.devices[key] = { controls: parsed.data, usage, ...(role ? { role } : {}) };
      }
    } catch (e) {
      const aside = `${this.file}.corrupt-${Date.now()}`;
      log.error("devices file is unreadable; parental controls start from the defaults", { file: this.file, error: (e as Error).message, movedTo: aside });
      try {
        renameSync(this.file, aside);
      } catch {}
    }
  }

  /** The device's own settings (what the parent set), without the defaults. */
  get(frontEnd: string, device: string): DeviceControls {
    return { ...this.devices[deviceKey(frontEnd, device)]?.controls };
  }

  /** The settings in force: the device's own, else the defaults from config.toml. */
  effective(frontEnd: string, device: string): Required<Omit<DeviceControls, "nickname">> & { nickname?: string } {
    const own = this.get(frontEnd, device);
    return {
      nickname: own.nickname,
      aiEnabled: own.aiEnabled ?? true,
      quietHours: own.quietHours ?? this.defaults.quietHours,
      dailyLimitMinutes: own.dailyLimitMinutes ?? this.defaults.dailyLimitMinutes,
    };
  }

  /** Replaces the device's settings (validated by the caller with controlsSchema). */
  set(frontEnd: string, device: string, controls: DeviceControls): void {
    const key = deviceKey(frontEnd, device);
    this.devices[key] = { ...this.devices[key], controls };
    this.save();
  }

  /** The role a parent chose for the device in the console, if any (it wins over the device's own choice). */
  role(frontEnd: string, device: string): string | undefined {
    return this.devices[deviceKey(frontEnd, device)]?.role;
  }

  /** Records the parent's role choice (undefined: back to the device's own). Use Pipeline.switchRole, which also ends the running turn. */
  setRole(frontEnd: string, device: string, role: string | undefined): void {
    const key = deviceKey(frontEnd, device);
    const entry = (this.devices[key] ??= { controls: {} });
    if (role === undefined) delete entry.role;
    else entry.role = role;
    this.save();
  }

  /** Minutes talked today. */
  usedToday(frontEnd: string, device: string, now = new Date()): number {
    const usage = this.devices[deviceKey(frontEnd, device)]?.usage;
    return usage?.date === localDate(now) ? usage.seconds / 60 : 0;
  }

  /** Why the device may not talk now, if it may not. */
  pause(frontEnd: string, device: string, now = new Date()): Pause | undefined {
    const c = this.effective(frontEnd, device);
    if (!c.aiEnabled) return "resting";
    if (inQuietHours(c.quietHours, now)) return "quiet_hours";
    if (c.dailyLimitMinutes > 0 && this.usedToday(frontEnd, device, now) >= c.dailyLimitMinutes) return "daily_limit";
    return undefined;
  }

  /** Adds talk time to today's count (written at most once a turn). */
  addUsage(frontEnd: string, device: string, seconds: number, now = new Date()): void {
    if (!(seconds > 0)) return;
    const key = deviceKey(frontEnd, device);
    const today = localDate(now);
    const entry = (this.devices[key] ??= { controls: {} });
    entry.usage = entry.usage?.date === today ? { date: today, seconds: entry.usage.seconds + seconds } : { date: today, seconds };
    this.save();
  }

  /** Forgets a device (with its history: erasing a toy). */
  forget(frontEnd: string, device: string): void {
    if (delete this.devices[deviceKey(frontEnd, device)]) this.save();
  }

  private save() {
    try {
      writeFileDurable(this.file, JSON.stringify({ version: 1, devices: this.devices }, null, 2) + "\n");
    } catch (e) {
      log.error("cannot write the devices file", { file: this.file, error: (e as Error).message });
    }
  }
}
