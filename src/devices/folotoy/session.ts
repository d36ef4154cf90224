// A toy as Hearth knows it while running: connection, selected role, its reports.
import type { ToyStatus } from "../../pipeline/types.ts";

/** Time left for the toy to fetch a reply's first MP3 before its own timeout. */
const DOWNLOAD_MARGIN_MS = 1500;
/** Never less than this, whatever the toy says (a turn needs time for STT and the first sentence). */
const MIN_REPLY_MS = 3000;

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
  /** The use_record_enc hint was logged for this toy. */
  hintedEncoded = false;

  constructor(readonly sn: string) {}

  status(): ToyStatus {
    return {
      sn: this.sn,
      role: this.role,
      connected: this.connected,
      lastSeen: this.lastSeen,
      battery: this.battery,
      firmware: this.firmware,
      address: this.address,
      volume: this.setting("volume", 0, 100),
      recordType: this.setting("record_type", 1, 3),
      timeoutSeconds: this.setting("timeout", 1, 600),
    };
  }

  /**
   * How long a turn may take to its first sentence: the toy's own `timeout` (data_config, in
   * seconds: it plays nothing that comes later) less a margin for the MP3 to be stored and
   * downloaded, within [toy] reply_timeout_seconds (`configuredMs`). Undefined until the toy
   * has reported one.
   */
  replyTimeoutMs(configuredMs: number): number | undefined {
    const seconds = this.setting("timeout", 1, 600);
    if (seconds === undefined) return undefined;
    return Math.min(configuredMs, Math.max(MIN_REPLY_MS, seconds * 1000 - DOWNLOAD_MARGIN_MS));
  }

  /** A numeric setting from the toy's data_config, when it is a number in range. */
  private setting(key: string, min: number, max: number): number | undefined {
    const raw = this.dataConfig?.[key];
    const n = typeof raw === "string" && raw.trim() !== "" ? Number(raw) : raw;
    return typeof n === "number" && Number.isFinite(n) && n >= min && n <= max ? n : undefined;
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
