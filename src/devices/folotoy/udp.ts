// The toys' microphone upload (toy-protocol.md §3): datagrams -> recordings.
//
//   offset 0..15  token (16 raw bytes of the 32-hex token from updatetoken)
//   offset 16..17 recordingId, uint16 big-endian
//   offset 18     frame type: 0x02 start/end marker (empty), 0x01 audio, 0x00 = encoded audio (unsupported)
//   offset 19..   payload, at most 1024 bytes of PCM s16le mono 32 kHz
import dgram from "node:dgram";
import { logger } from "../../log.ts";
import { concatBytes } from "../../audio/bytes.ts";

const log = logger("toy");

export const FRAME_ENCODED = 0x00;
export const FRAME_AUDIO = 0x01;
export const FRAME_MARKER = 0x02;
export const HEADER_BYTES = 19;
export const MAX_PAYLOAD = 1024;
export const MAX_DATAGRAM = HEADER_BYTES + MAX_PAYLOAD;
/** The toy's PCM sample rate. */
export const TOY_SAMPLE_RATE = 32000;

/** Why a datagram was dropped (the `reason` label of hearth_udp_dropped_total). */
export type DropReason =
  | "short" // fewer than 19 bytes
  | "oversized" // payload over 1024 bytes
  | "unknown_token" // no toy was given this token
  | "encoded" // frame type 0x00: firmware's use_record_enc is on
  | "bad_type" // any other frame type
  | "garbled" // audio frame that cannot be PCM s16le (empty, odd length)
  | "too_long" // the recording reached its length cap
  | "late" // a packet for a recording that already ended
  | "busy"; // the recording was turned away: too many at once ([toy] max_recordings)

export interface Datagram {
  /** Lowercase hex of the 16 token bytes. */
  token: string;
  recordingId: number;
  type: number;
  payload: Uint8Array;
}

export function parseDatagram(buf: Uint8Array): Datagram | { drop: "short" | "oversized" } {
  if (buf.length < HEADER_BYTES) return { drop: "short" };
  if (buf.length > MAX_DATAGRAM) return { drop: "oversized" };
  return {
    token: Buffer.from(buf.buffer, buf.byteOffset, 16).toString("hex"),
    recordingId: (buf[16]! << 8) | buf[17]!,
    type: buf[18]!,
    payload: buf.subarray(HEADER_BYTES),
  };
}

/** The datagram a toy sends (used by the simulator and tests). */
export function encodeDatagram(token: string, recordingId: number, type: number, payload: Uint8Array = new Uint8Array(0)): Uint8Array {
  if (!/^[0-9a-fA-F]{32}$/.test(token)) throw new RangeError(`token must be 32 hex characters, got ${JSON.stringify(token)}`);
  const out = new Uint8Array(HEADER_BYTES + payload.length);
  out.set(Buffer.from(token, "hex"), 0);
  out[16] = (recordingId >> 8) & 0xff;
  out[17] = recordingId & 0xff;
  out[18] = type;
  out.set(payload, HEADER_BYTES);
  return out;
}

/** One complete microphone recording. */
export interface Recording {
  sn: string;
  token: string;
  recordingId: number;
  /** PCM s16le mono at TOY_SAMPLE_RATE. */
  pcm: Uint8Array;
  /** Epoch ms of the first and the last packet: the last one is the end of speech. */
  startedAt: number;
  endedAt: number;
  end: "marker" | "timeout" | "cap";
}

/** A recording that was turned away at its start (`admit` said no): nothing of it was kept. */
export interface RefusedRecording {
  sn: string;
  recordingId: number;
  endedAt: number;
}

export interface AssemblerOptions {
  /** The SN a token was issued to, or undefined. */
  snOfToken(token: string): string | undefined;
  /**
   * Whether a new recording of this toy may be received now (memory is bounded by how many are
   * received and answered at once). A refused one is not buffered; `onRefused` is told when it ends.
   */
  admit?(sn: string): boolean;
  /** A new recording began (the toy's user is talking again). */
  onStart?(sn: string, recordingId: number): void;
  /** Audio of the recording being received, as it arrives (PCM s16le mono at TOY_SAMPLE_RATE): to recognize it while the child talks. */
  onAudio?(sn: string, recordingId: number, pcm: Uint8Array): void;
  onRecording(recording: Recording): void;
  /** A refused recording ended (its end marker, or silence): the toy is waiting for a reply. */
  onRefused?(recording: RefusedRecording): void;
  onDrop(reason: DropReason, sn?: string): void;
  /** End a recording after this long without packets (its end marker was lost). */
  idleMs?: number;
  /** Longest recording kept; a stuck toy cannot fill memory. */
  maxSeconds?: number;
  now?: () => number;
}

interface Active {
  sn: string;
  token: string;
  recordingId: number;
  chunks: Uint8Array[];
  bytes: number;
  frames: number;
  startedAt: number;
  lastAt: number;
  /** Turned away by `admit`: its audio is dropped (DropReason "busy"), not buffered. */
  refused: boolean;
}

/** How long an ended recording's id is remembered, so its stragglers are not taken for a new one. */
const REMEMBER_ENDED_MS = 5000;

/** Groups datagrams into recordings: one per (token, recordingId), at most one open per toy. */
export class RecordingAssembler {
  private readonly active = new Map<string, Active>(); // by token
  private readonly ended = new Map<string, { at: number; reason: DropReason }>(); // by token:recordingId
  private readonly idleMs: number;
  private readonly maxBytes: number;
  private readonly now: () => number;

  constructor(private readonly opts: AssemblerOptions) {
    this.idleMs = opts.idleMs ?? 1500;
    this.maxBytes = Math.round((opts.maxSeconds ?? 60) * TOY_SAMPLE_RATE) * 2;
    this.now = opts.now ?? Date.now;
  }

  /** Handles one datagram; never throws on bad input. */
  push(buf: Uint8Array): void {
    const d = parseDatagram(buf);
    if ("drop" in d) return this.opts.onDrop(d.drop);
    const sn = this.opts.snOfToken(d.token);
    if (!sn) return this.opts.onDrop("unknown_token");
    if (d.type === FRAME_ENCODED) return this.opts.onDrop("encoded", sn);
    if (d.type !== FRAME_AUDIO && d.type !== FRAME_MARKER) return this.opts.onDrop("bad_type", sn);
    if (d.type === FRAME_AUDIO && (d.payload.length === 0 || d.payload.length % 2 !== 0)) return this.opts.onDrop("garbled", sn);

    const now = this.now();
    const key = `${d.token}:${d.recordingId}`;
    const ended = this.ended.get(key);
    if (ended && now - ended.at < REMEMBER_ENDED_MS) {
      // the end marker after a timeout, or frames past the cap: not a new recording
      if (d.type === FRAME_AUDIO) this.opts.onDrop(ended.reason, sn);
      return;
    }

    let rec = this.active.get(d.token);
    if (rec && rec.recordingId !== d.recordingId) {
      log.info("recording superseded by a newer one before it ended; discarding it", {
        sn,
        recordingId: rec.recordingId,
        next: d.recordingId,
        seconds: +(rec.bytes / 2 / TOY_SAMPLE_RATE).toFixed(2),
      });
      this.active.delete(d.token);
      rec = undefined;
    }
    if (!rec) {
      if (d.type === FRAME_AUDIO) log.debug("audio before any start marker (marker lost?): starting the recording", { sn, recordingId: d.recordingId });
      const refused = this.opts.admit ? !this.opts.admit(sn) : false;
      rec = { sn, token: d.token, recordingId: d.recordingId, chunks: [], bytes: 0, frames: 0, startedAt: now, lastAt: now, refused };
      this.active.set(d.token, rec);
      if (!refused) this.opts.onStart?.(sn, d.recordingId);
      if (d.type === FRAME_MARKER) return;
    }
    rec.lastAt = now;
    if (d.type === FRAME_MARKER) {
      if (rec.frames > 0) this.finish(rec, "marker");
      return; // a repeated start marker
    }
    if (rec.refused) {
      rec.frames++;
      return this.opts.onDrop("busy", sn);
    }
    const room = this.maxBytes - rec.bytes;
    const take = d.payload.length <= room ? d.payload : d.payload.subarray(0, room & ~1);
    const chunk = take.slice();
    rec.chunks.push(chunk);
    rec.bytes += take.length;
    rec.frames++;
    if (chunk.length) this.opts.onAudio?.(sn, rec.recordingId, chunk);
    if (rec.bytes >= this.maxBytes) {
      log.warn("recording reached the length cap; ending it and dropping the rest", { sn, recordingId: rec.recordingId, seconds: this.maxBytes / 2 / TOY_SAMPLE_RATE });
      this.finish(rec, "cap");
    }
  }

  /** Ends recordings that have been quiet for idleMs; call periodically. */
  sweep(): void {
    const now = this.now();
    for (const rec of this.active.values()) {
      if (now - rec.lastAt < this.idleMs) continue;
      if (rec.frames === 0) {
        log.debug("start marker without audio; forgetting it", { sn: rec.sn, recordingId: rec.recordingId });
        this.active.delete(rec.token);
      } else {
        log.debug("no end marker: ending the recording after silence", { sn: rec.sn, recordingId: rec.recordingId });
        this.finish(rec, "timeout");
      }
    }
    for (const [key, e] of this.ended) if (now - e.at >= REMEMBER_ENDED_MS) this.ended.delete(key);
  }

  /** Recordings being received (refused ones not counted), for tests and status. */
  get inProgress(): number {
    let n = 0;
    for (const rec of this.active.values()) if (!rec.refused) n++;
    return n;
  }

  /** The toys with a recording being received (and kept). */
  receiving(): Set<string> {
    const sns = new Set<string>();
    for (const rec of this.active.values()) if (!rec.refused) sns.add(rec.sn);
    return sns;
  }

  /** Bytes of audio held by recordings being received. */
  get bufferedBytes(): number {
    let n = 0;
    for (const rec of this.active.values()) n += rec.bytes;
    return n;
  }

  private finish(rec: Active, end: Recording["end"]) {
    this.active.delete(rec.token);
    this.ended.set(`${rec.token}:${rec.recordingId}`, { at: this.now(), reason: rec.refused ? "busy" : end === "cap" ? "too_long" : "late" });
    if (rec.refused) return this.opts.onRefused?.({ sn: rec.sn, recordingId: rec.recordingId, endedAt: rec.lastAt });
    const pcm = concatBytes(rec.chunks);
    this.opts.onRecording({ sn: rec.sn, token: rec.token, recordingId: rec.recordingId, pcm, startedAt: rec.startedAt, endedAt: rec.lastAt, end });
  }
}

/** The UDP socket feeding a RecordingAssembler. */
export class UdpSpeechServer {
  private socket?: dgram.Socket;
  private timer?: ReturnType<typeof setInterval>;

  constructor(private readonly assembler: RecordingAssembler) {}

  /** Binds (port 0 = any free port) and returns the bound port. */
  async start(port: number, host = "0.0.0.0"): Promise<number> {
    const socket = dgram.createSocket({ type: "udp4", reuseAddr: false });
    socket.on("message", (msg) => {
      try {
        this.assembler.push(msg);
      } catch (e) {
        // parse errors are handled inside; this is a bug, but it must not take the socket down
        log.error("UDP datagram handler failed", { error: (e as Error).message });
      }
    });
    socket.on("error", (e) => log.error("UDP socket error", { error: e.message }));
    await new Promise<void>((resolve, reject) => {
      const fail = (e: NodeJS.ErrnoException) => {
        socket.close();
        reject(e.code === "EADDRINUSE" ? new Error(`toy UDP port ${port} is already in use: stop the other server or change [toy] udp_port`) : e);
      };
      socket.once("error", fail);
      socket.bind(port, host, () => {
        socket.off("error", fail);
        resolve();
      });
    });
    this.socket = socket;
    this.timer = setInterval(() => this.assembler.sweep(), 250);
    return socket.address().port;
  }

  get listening(): boolean {
    return this.socket !== undefined;
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    const socket = this.socket;
    this.socket = undefined;
    if (socket) await new Promise<void>((resolve) => socket.close(() => resolve()));
  }
}
