// The binary WebSocket messages of xiaozhi-esp32 (docs/websocket.md §3, protocols/protocol.h),
// the same in both directions:
//   v1: the Opus packet alone;
//   v2: 16-byte big-endian header {u16 version = 2, u16 type, u32 reserved, u32 timestamp_ms, u32 payload_size};
//   v3: 4-byte header {u8 type, u8 reserved, u16 payload_size (big-endian)}.
// Type 0 is an Opus packet; v2 also names type 1 (JSON), which the firmware never sends.

export type ProtocolVersion = 1 | 2 | 3;
export const PROTOCOL_VERSIONS: readonly ProtocolVersion[] = [1, 2, 3];

export const TYPE_OPUS = 0;
export const TYPE_JSON = 1;
const V2_HEADER = 16;
const V3_HEADER = 4;
/** v3 carries the size in 16 bits. */
const V3_MAX_PAYLOAD = 0xffff;

export type FrameErrorReason = "short" | "size_mismatch" | "bad_version" | "unknown_type";

/** A binary message that is not a valid frame of the session's protocol version. */
export class FrameError extends Error {
  override name = "FrameError";
  constructor(
    readonly reason: FrameErrorReason,
    message: string,
  ) {
    super(message);
  }
}

export interface Frame {
  /** TYPE_OPUS, or TYPE_JSON (v2 only). */
  type: number;
  /** v2's timestamp (ms, for server-side echo cancellation); 0 otherwise. */
  timestamp: number;
  payload: Uint8Array;
}

/** `Protocol-Version` header (or hello `version`) -> a supported version, or undefined. */
export function parseProtocolVersion(value: unknown): ProtocolVersion | undefined {
  const n = typeof value === "string" && value.trim() !== "" ? Number(value) : value;
  return PROTOCOL_VERSIONS.includes(n as ProtocolVersion) ? (n as ProtocolVersion) : undefined;
}

/**
 * Reads one binary message. Throws FrameError when the header does not hold. An empty payload
 * is valid (an encoder with DTX may send nothing for a silent frame).
 */
export function decodeFrame(version: ProtocolVersion, data: Uint8Array): Frame {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  if (version === 1) return { type: TYPE_OPUS, timestamp: 0, payload: data };
  if (version === 2) {
    if (data.length < V2_HEADER) throw new FrameError("short", `a v2 frame has a 16-byte header; got ${data.length} bytes`);
    const v = view.getUint16(0);
    if (v !== 2) throw new FrameError("bad_version", `a v2 frame's header says version ${v}`);
    const type = view.getUint16(2);
    const size = view.getUint32(12);
    if (size !== data.length - V2_HEADER) throw new FrameError("size_mismatch", `the v2 header says ${size} payload bytes; ${data.length - V2_HEADER} came`);
    if (type !== TYPE_OPUS && type !== TYPE_JSON) throw new FrameError("unknown_type", `v2 frame type ${type} is neither Opus (0) nor JSON (1)`);
    return { type, timestamp: view.getUint32(8), payload: data.subarray(V2_HEADER) };
  }
  if (data.length < V3_HEADER) throw new FrameError("short", `a v3 frame has a 4-byte header; got ${data.length} bytes`);
  const type = data[0]!;
  const size = view.getUint16(2);
  if (size !== data.length - V3_HEADER) throw new FrameError("size_mismatch", `the v3 header says ${size} payload bytes; ${data.length - V3_HEADER} came`);
  if (type !== TYPE_OPUS) throw new FrameError("unknown_type", `v3 frame type ${type} is not Opus (0)`);
  return { type, timestamp: 0, payload: data.subarray(V3_HEADER) };
}

/** Wraps an Opus packet for the device. `timestamp` (ms) is only carried by v2. */
export function encodeFrame(version: ProtocolVersion, payload: Uint8Array, timestamp = 0): Uint8Array {
  if (version === 1) return payload;
  if (version === 2) {
    const out = new Uint8Array(V2_HEADER + payload.length);
    const view = new DataView(out.buffer);
    view.setUint16(0, 2);
    view.setUint16(2, TYPE_OPUS);
    view.setUint32(4, 0);
    view.setUint32(8, timestamp >>> 0);
    view.setUint32(12, payload.length);
    out.set(payload, V2_HEADER);
    return out;
  }
  if (payload.length > V3_MAX_PAYLOAD) throw new RangeError(`a v3 frame carries at most ${V3_MAX_PAYLOAD} bytes`);
  const out = new Uint8Array(V3_HEADER + payload.length);
  const view = new DataView(out.buffer);
  out[0] = TYPE_OPUS;
  out[1] = 0;
  view.setUint16(2, payload.length);
  out.set(payload, V3_HEADER);
  return out;
}
