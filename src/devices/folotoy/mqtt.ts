// FoloToy MQTT topics and JSON envelopes (docs: toy-protocol.md §2, §4). Pure: no sockets here.

/** What brokers' ACLs allow as a toy's SN (client id = username = SN). */
export const SN_PATTERN = /^[0-9a-zA-Z]{8,32}$/;

export const topics = {
  /** toy -> server: events (login, press_small_btn, ...). */
  eventPost: (sn: string) => `/user/folotoy/${sn}/thing/event/post`,
  /** toy -> server: data_config, real_time_data. */
  dataPost: (sn: string) => `/user/folotoy/${sn}/thing/data/post`,
  /** server -> toy: commands. */
  commandCall: (sn: string) => `/user/folotoy/${sn}/thing/command/call`,
  /** toy -> server: command acks. */
  commandCallAck: (sn: string) => `/user/folotoy/${sn}/thing/command/callAck`,
  /** server -> integrations: transcripts and replies (when [toy] integration_mirror). */
  sysEventPost: (sn: string) => `/sys/folotoy/${sn}/thing/event/post`,
  /** integrations -> server: commands to relay to the toy. */
  sysCommandCall: (sn: string) => `/sys/folotoy/${sn}/thing/command/call`,
  /** server -> integrations: the toy's acks of relayed commands. */
  sysCommandCallAck: (sn: string) => `/sys/folotoy/${sn}/thing/command/callAck`,
  sysConfig: "/sys/config",
  sysConfigAck: "/sys/configAck",
} as const;

/** What the server subscribes to (the same on the embedded and an external broker). */
export const SERVER_SUBSCRIPTIONS = [
  "/user/folotoy/+/thing/event/post",
  "/user/folotoy/+/thing/data/post",
  "/user/folotoy/+/thing/command/callAck",
  "/sys/folotoy/+/thing/command/call",
  "/sys/config",
] as const;

/** Commands an integration may have relayed to a toy. */
export const RELAYABLE_COMMANDS = ["iwantplay", "updatecommonconfig"] as const;

export type Incoming =
  /** toy -> server event or data report (`outParams`). */
  | { kind: "event" | "data"; sn: string; msgId: number | null; identifier: string; params: Record<string, unknown> }
  /** toy -> server acknowledgement of one of our commands. */
  | { kind: "ack"; sn: string; msgId: number | null; identifier: string; result: number | null }
  /** integration -> server: a command for the toy `sn`. */
  | { kind: "relay"; sn: string; msgId: number | null; identifier: string; params: Record<string, unknown> }
  /** integration -> server: /sys/config. */
  | { kind: "sysconfig"; msgId: number | null; identifier: string; body: Record<string, unknown> }
  | { kind: "invalid"; topic: string; reason: string };

const USER_TOPIC = /^\/user\/folotoy\/([^/]+)\/thing\/(event\/post|data\/post|command\/callAck)$/;
const SYS_CALL_TOPIC = /^\/sys\/folotoy\/([^/]+)\/thing\/command\/call$/;

/**
 * Reads one message from a topic we subscribe to. Liberal (fields are [I] in places): msgId and
 * result may come as numeric strings, params may be missing. Returns null for topics that are not ours.
 */
export function parseIncoming(topic: string, payload: Uint8Array | string): Incoming | null {
  const user = USER_TOPIC.exec(topic);
  const sys = user ? null : SYS_CALL_TOPIC.exec(topic);
  if (!user && !sys && topic !== topics.sysConfig) return null;

  const text = typeof payload === "string" ? payload : new TextDecoder().decode(payload);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return { kind: "invalid", topic, reason: `payload is not JSON: ${preview(text)}` };
  }
  if (!isObject(body)) return { kind: "invalid", topic, reason: `payload is not a JSON object: ${preview(text)}` };
  const msgId = toInt(body.msgId);
  const identifier = typeof body.identifier === "string" ? body.identifier : "";

  if (topic === topics.sysConfig) {
    if (!identifier) return { kind: "invalid", topic, reason: "no identifier" };
    return { kind: "sysconfig", msgId, identifier, body };
  }
  const sn = (user ?? sys)![1]!;
  if (!SN_PATTERN.test(sn)) return { kind: "invalid", topic, reason: `"${sn}" is not a valid SN` };
  if (!identifier) return { kind: "invalid", topic, reason: "no identifier" };

  if (sys) return { kind: "relay", sn, msgId, identifier, params: objectOr(body.inputParams) };
  switch (user![2]) {
    case "command/callAck":
      return { kind: "ack", sn, msgId, identifier, result: toInt(body.result) };
    case "data/post":
      return { kind: "data", sn, msgId, identifier, params: objectOr(body.outParams ?? body.params) };
    default:
      return { kind: "event", sn, msgId, identifier, params: objectOr(body.outParams ?? body.params) };
  }
}

/** A server -> toy command: `{"msgId":N,"identifier":"...","inputParams":{...}}`. */
export function command(msgId: number, identifier: string, inputParams: Record<string, unknown>) {
  return { msgId, identifier, inputParams };
}

/** A toy's event: toy -> server (login, data_config, ...). */
export function event(msgId: number, identifier: string, outParams: Record<string, unknown>) {
  return { msgId, identifier, outParams };
}

/**
 * An integration-mirror event, server -> integrations on /sys/folotoy/{sn}/thing/event/post
 * (recording_transcribed, voice_generated). The official server puts the fields in `inputParams`
 * (FoloToy's MQTT integration docs), and existing integrations read that key.
 */
export function mirrorEvent(msgId: number, identifier: string, inputParams: Record<string, unknown>) {
  return { msgId, identifier, inputParams };
}

/** A toy -> server ack of command `msgId`. */
export function toyAck(msgId: number, identifier: string, result: 0 | 1) {
  return { msgId, identifier, result };
}

/** A number from a number or a numeric string; null otherwise. */
export function toInt(v: unknown): number | null {
  if (typeof v === "number" && Number.isFinite(v)) return Math.trunc(v);
  if (typeof v === "string" && /^\s*-?\d+\s*$/.test(v)) return Number(v);
  return null;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function objectOr(v: unknown): Record<string, unknown> {
  return isObject(v) ? v : {};
}

function preview(text: string): string {
  return JSON.stringify(text.length > 80 ? text.slice(0, 80) + "…" : text);
}

