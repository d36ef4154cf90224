// A toy as Hearth knows it while running: connection, selected role, its reports.
import type { ToyStatus } from "../../pipeline/types.ts";

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
