// A xiaozhi-esp32 device in software, written from the firmware (78/xiaozhi-esp32: main/ota.cc,
// main/application.cc, main/protocols/websocket_protocol.cc, protocol.cc, main/mcp_server.cc):
//  - boot: POST <ota_url> with Device-Id, Client-Id, Activation-Version, User-Agent,
//    Accept-Language and a system-info body; with an activation block it shows the code and polls
//    <ota_url>activate (202 = wait 3 s, 200 = go on), then checks in again;
//  - WebSocket with Authorization: Bearer <token>, Protocol-Version, Device-Id, Client-Id; its hello;
//    the server's hello within 10 s or it gives up;
//  - listening: `listen start` (mode), microphone Opus frames (16 kHz, 60 ms) at real-time pace in
//    the protocol version's framing, `listen stop` in manual mode; in auto mode the microphone
//    keeps running until `tts start`, and after `tts stop` it listens again (a new `listen start`);
//  - speaking: binary frames are played only between `tts start` and `tts stop` (others are
//    dropped, as the firmware drops them) and each must decode to exactly one frame of the
//    server's audio_params;
//  - barge-in: `abort` (and `listen start` while speaking, as the firmware's button does);
//  - MCP: answers initialize, tools/list (paged) and tools/call like McpServer, and drops a request
//    whose jsonrpc, id or params are malformed, as the firmware does.
// Everything received is timed from the end of speech. Used by scripts/xiaozhi-sim.ts, the tests
// and the bench.
import { OpusDecoder } from "opus-decoder";
import { OpusEncoder } from "../../src/audio/opus.ts";
import { resample } from "../../src/audio/resample.ts";
import { decodeWav } from "../../src/audio/wav.ts";
import { decodeFrame, encodeFrame, type ProtocolVersion } from "../../src/devices/xiaozhi/framing.ts";

export type SimMode = "auto" | "manual" | "realtime";
type State = "idle" | "listening" | "speaking";

export interface SimTool {
  name: string;
  description: string;
  inputSchema: Record<string, unknown>;
  /** The tool's text; a tool may take its time (a promise). Throws (or rejects) for a failure (isError). */
  call(args: Record<string, unknown>): string | Promise<string>;
}

export interface OtaAnswer {
  status: number;
  body: any;
  websocket?: { url: string; token: string; version?: number };
  activation?: { code: string; message?: string; challenge?: string; timeout_ms?: number };
}

export interface SimTurn {
  file?: string;
  mode: SimMode;
  /** stt message text. */
  heard?: string;
  emotion?: string;
  /** sentence_start texts, in order. */
  sentences: string[];
  /** Frames played (between tts start and tts stop). */
  frames: number;
  /** Seconds of audio they decoded to. */
  audioSeconds: number;
  /** Frames that did not decode to exactly one frame of the announced rate and duration. */
  badFrames: number;
  /** Frames that arrived when the device was not speaking (it drops them). */
  droppedFrames: number;
  /** Milliseconds after the end of speech (the last speech frame, or listen stop in manual mode). */
  timings: { sttMs?: number; ttsStartMs?: number; firstAudioMs?: number; ttsStopMs?: number; speechMs: number };
  /** The device interrupted this reply (abort, then listen start, as its button does). */
  interrupted?: boolean;
  ok: boolean;
  error?: string;
}

export interface SimDeviceOptions {
  /** The OTA URL typed on the device, e.g. http://192.168.1.20:8080/xiaozhi/ota/ */
  ota: string;
  /** Device-Id: its MAC. */
  mac?: string;
  clientId?: string;
  board?: string;
  firmware?: string;
  /** Binary protocol version; default: websocket.version from the OTA answer, else 1. */
  protocol?: ProtocolVersion;
  /** Announce MCP (the firmware always does). */
  mcp?: boolean;
  /** Announce echo cancellation (its default mode is then realtime). */
  aec?: boolean;
  /** Tools it exposes over MCP (default: get_device_status and audio_speaker.set_volume). */
  tools?: SimTool[];
  /** Send the microphone's idle silence as empty packets (an encoder whose DTX sends nothing for silence). */
  emptySilence?: boolean;
  /** Tools per tools/list page (the firmware pages at ~8 KB; a small number exercises nextCursor). */
  toolsPerPage?: number;
  log?: (line: string) => void;
}

const HELLO_TIMEOUT_MS = 10_000;
const UP_RATE = 16000;
const FRAME_MS = 60;

export class SimXiaozhi {
  readonly mac: string;
  readonly clientId: string;
  volume = 70;
  /** The server's hello. */
  sessionId?: string;
  serverAudio = { sampleRate: 24000, frameDuration: 60 };
  state: State = "idle";
  mode: SimMode = "auto";
  /** MCP requests received (method names), in order. */
  mcpRequests: string[] = [];
  /** The last abort: when it was sent, frames of the aborted reply that still came after it (and the last one's delay), when tts stop came. */
  lastAbort?: { at: number; frames: number; lastFrameMs?: number; ttsStopMs?: number; nextReply?: boolean };
  /** Every text message received, with performance.now(). */
  received: { at: number; message: any }[] = [];
  ota?: OtaAnswer;
  protocol: ProtocolVersion = 1;
  private ws?: WebSocket;
  private decoder?: OpusDecoder<any>;
  /** The microphone's encoder as the firmware sets it up (AS_OPUS_ENC_CONFIG): complexity 0, audio application, DTX, VBR. */
  private readonly encoder = new OpusEncoder({ sampleRate: UP_RATE, frameMs: FRAME_MS, complexity: 0, application: "audio", dtx: true });
  private turn?: SimTurn & { endAt: number };
  /** Speech waiting to go out through the microphone, in 60 ms frames. */
  private micQueue: Float32Array[] = [];
  private micLoop?: Promise<void>;
  private pace = 1;
  private waiters: { check: () => boolean; resolve: () => void }[] = [];
  private closed = false;
  private readonly tools: SimTool[];

  constructor(private readonly opts: SimDeviceOptions) {
    this.mac = opts.mac ?? "aa:bb:cc:00:00:01";
    this.clientId = opts.clientId ?? crypto.randomUUID();
    this.tools = opts.tools ?? defaultTools(this);
  }

  private log(line: string) {
    this.opts.log?.(line);
  }

  // ---- boot ---------------------------------------------------------------------------------

  /** The version check, as Ota::CheckVersion sends it. */
  async checkIn(): Promise<OtaAnswer> {
    const firmware = this.opts.firmware ?? "1.8.2";
    const board = this.opts.board ?? "bread-compact-wifi";
    const body = JSON.stringify({
      version: 2,
      language: "en-US",
      flash_size: 16777216,
      minimum_free_heap_size: "7265024",
      mac_address: this.mac,
      uuid: this.clientId,
      chip_model_name: "esp32s3",
      chip_info: { model: 9, cores: 2, revision: 2, features: 18 },
      application: { name: "xiaozhi", version: firmware, compile_time: "2025-06-01T10:00:00Z", idf_version: "v5.4.1", elf_sha256: "0".repeat(64) },
      partition_table: [{ label: "nvs", type: 1, subtype: 2, address: 36864, size: 16384 }],
      ota: { label: "ota_0" },
      board: { type: board, name: board, ssid: "home", rssi: -50, channel: 6, ip: "192.168.1.77", mac: this.mac },
    });
    const res = await fetch(this.opts.ota, {
      method: "POST",
      headers: {
        "Activation-Version": "1",
        "Device-Id": this.mac,
        "Client-Id": this.clientId,
        "User-Agent": `${board}/${firmware}`,
        "Accept-Language": "en-US",
        "Content-Type": "application/json",
      },
      body,
    });
    const text = await res.text();
    let json: any = undefined;
    try {
      json = JSON.parse(text);
    } catch {}
    const answer: OtaAnswer = { status: res.status, body: json ?? text };
    if (res.status === 200 && json) {
      if (json.websocket && typeof json.websocket.url === "string") answer.websocket = json.websocket;
      if (json.activation && (typeof json.activation.code === "string" || typeof json.activation.challenge === "string")) answer.activation = json.activation;
    }
    this.ota = answer;
    this.log(`OTA ${res.status}: ${text}`);
    return answer;
  }

  /** Ota::Activate: POST <ota_url>activate; true on 200, false on 202 (keep waiting). */
  async activateOnce(): Promise<boolean> {
    const url = this.opts.ota.endsWith("/") ? `${this.opts.ota}activate` : `${this.opts.ota}/activate`;
    const res = await fetch(url, {
      method: "POST",
      headers: { "Activation-Version": "1", "Device-Id": this.mac, "Client-Id": this.clientId, "Content-Type": "application/json" },
      body: "{}",
    });
    await res.text();
    if (res.status === 200) return true;
    if (res.status === 202) return false;
    throw new Error(`activation answered ${res.status}`);
  }

  /** Application::CheckNewVersion: check in; while an activation is asked, poll every `pollMs` (3 s on a device), then check in again. */
  async boot(opts: { pollMs?: number; maxRounds?: number } = {}): Promise<OtaAnswer> {
    for (let round = 0; round < (opts.maxRounds ?? 10); round++) {
      const answer = await this.checkIn();
      if (answer.status !== 200) throw new Error(`the version check answered ${answer.status}: ${JSON.stringify(answer.body)}`);
      if (!answer.activation) return answer;
      this.log(`activation code ${answer.activation.code}: ${answer.activation.message ?? ""}`);
      for (let i = 0; i < 10; i++) {
        if (await this.activateOnce()) break;
        await Bun.sleep(opts.pollMs ?? 3000);
      }
    }
    throw new Error("still waiting for activation");
  }

  // ---- the WebSocket ------------------------------------------------------------------------

  /** WebsocketProtocol::OpenAudioChannel: connect with the headers, send hello, wait for the server's. */
  async connect(opts: { hello?: boolean; helloTimeoutMs?: number } = {}): Promise<void> {
    const ws = this.ota?.websocket;
    if (!ws) throw new Error("no websocket in the OTA answer (check in first)");
    this.protocol = this.opts.protocol ?? (ws.version === 2 || ws.version === 3 ? ws.version : 1);
    const headers: Record<string, string> = { "Protocol-Version": String(this.protocol), "Device-Id": this.mac, "Client-Id": this.clientId };
    if (ws.token) headers.Authorization = ws.token.includes(" ") ? ws.token : `Bearer ${ws.token}`;
    const socket = new WebSocket(ws.url, { headers } as any);
    socket.binaryType = "arraybuffer";
    this.ws = socket;
    this.closed = false;
    await new Promise<void>((resolve, reject) => {
      socket.onopen = () => resolve();
      socket.onerror = () => reject(new Error(`cannot connect to ${ws.url}`));
    });
    socket.onmessage = (e) => this.onMessage(e.data);
    socket.onclose = (e) => {
      this.closed = true;
      this.log(`WebSocket closed ${e.code} ${e.reason}`);
      this.state = "idle";
      this.wakeAll();
    };
    if (opts.hello === false) return;
    this.sendJson({
      type: "hello",
      version: this.protocol,
      features: { ...(this.opts.aec ? { aec: true } : {}), ...(this.opts.mcp === false ? {} : { mcp: true }) },
      transport: "websocket",
      audio_params: { format: "opus", sample_rate: UP_RATE, channels: 1, frame_duration: FRAME_MS },
    });
    await this.waitFor(() => this.sessionId !== undefined, opts.helloTimeoutMs ?? HELLO_TIMEOUT_MS, "the server hello");
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Resolves when the server closes the socket (or after `ms`, rejecting). */
  waitClosed(ms: number): Promise<void> {
    return this.waitFor(() => this.closed, ms, "the server to close the socket");
  }

  close() {
    this.closed = true;
    this.ws?.close();
    this.decoder?.free();
    this.decoder = undefined;
    this.encoder.close();
    this.wakeAll();
  }

  // ---- what the device sends ----------------------------------------------------------------

  sendJson(message: Record<string, unknown>) {
    this.ws?.send(JSON.stringify(message));
  }

  /** A raw text message (tests: garbage). */
  sendText(text: string) {
    this.ws?.send(text);
  }

  /** A raw binary message (tests: garbage). */
  sendBinary(bytes: Uint8Array) {
    this.ws?.send(bytes);
  }

  listenStart(mode: SimMode) {
    this.mode = mode;
    this.state = "listening";
    this.sendJson({ session_id: this.sessionId ?? "", type: "listen", state: "start", mode });
    this.ensureMic();
  }

  listenStop() {
    this.sendJson({ session_id: this.sessionId ?? "", type: "listen", state: "stop" });
    this.state = "idle";
  }

  wakeWord(text = "Hi ESP") {
    this.sendJson({ session_id: this.sessionId ?? "", type: "listen", state: "detect", text });
  }

  /** Protocol::SendAbortSpeaking; the device stays in its speaking state until tts stop. */
  abort(reason?: "wake_word_detected") {
    this.lastAbort = { at: performance.now(), frames: 0 };
    this.sendJson({ session_id: this.sessionId ?? "", type: "abort", ...(reason ? { reason } : {}) });
  }

  /** Queues speech for the microphone: it goes out after what is queued, one frame per 60 ms / pace. */
  speak(samples: Float32Array) {
    const size = (UP_RATE * FRAME_MS) / 1000;
    for (let offset = 0; offset < samples.length; offset += size) {
      const frame = new Float32Array(size);
      frame.set(samples.subarray(offset, offset + size));
      this.micQueue.push(frame);
    }
    this.ensureMic();
  }

  /** The microphone streams while listening, and while speaking in realtime mode (voice processing stays on). */
  private micOn(): boolean {
    return !this.closed && (this.state === "listening" || (this.state === "speaking" && this.mode === "realtime"));
  }

  /** The microphone: queued speech, else silence, as Opus frames in the protocol's framing, at the pace. */
  private ensureMic() {
    if (this.micLoop || !this.micOn()) return;
    this.micLoop = (async () => {
      let next = performance.now();
      while (this.micOn()) {
        const speech = this.micQueue.shift();
        const packet = speech ? this.encoder.encode(speech) : this.opts.emptySilence ? new Uint8Array(0) : this.encoder.encode(new Float32Array((UP_RATE * FRAME_MS) / 1000));
        this.ws?.send(encodeFrame(this.protocol, packet, Math.round(performance.now())));
        if (this.micQueue.length === 0) this.wakeAll();
        next += FRAME_MS / this.pace;
        const due = next - performance.now();
        if (due > 0) await Bun.sleep(due);
      }
    })().finally(() => {
      this.micLoop = undefined;
    });
  }

  /**
   * One turn as the firmware does it: listen start, the utterance at real-time pace (manual: then
   * listen stop; auto and realtime: the microphone goes on, silence, until the reply starts), then
   * the reply until tts stop.
   */
  async say(input: string | Float32Array, opts: { mode?: SimMode; pace?: number; replyTimeoutMs?: number; abortAfterMs?: number } = {}): Promise<SimTurn> {
    const mode = opts.mode ?? "auto";
    const samples = typeof input === "string" ? await readSpeech(input) : input;
    this.pace = opts.pace && opts.pace > 0 ? opts.pace : 1;
    // The firmware sends listen start from idle, on a mode change, or with its button while speaking;
    // in realtime mode, speech while it speaks simply goes out through the open microphone.
    if (this.state === "idle" || this.mode !== mode || (this.state === "speaking" && mode !== "realtime")) this.listenStart(mode);
    const turn = this.newTurn(mode, typeof input === "string" ? input : undefined, samples.length / UP_RATE);
    this.speak(samples);
    await this.waitFor(() => this.micQueue.length === 0 || this.closed, 120_000, "the speech to be sent");
    return this.finishTurn(turn, opts);
  }

  /** Interrupts a reply the way the firmware's button does (abort, then listen start), and says something new. */
  async interrupt(input: string | Float32Array, opts: { mode?: SimMode; pace?: number; replyTimeoutMs?: number } = {}): Promise<SimTurn> {
    const samples = typeof input === "string" ? await readSpeech(input) : input;
    this.abort();
    this.listenStart(opts.mode ?? this.mode);
    const turn = await this.say(samples, opts);
    return { ...turn, file: typeof input === "string" ? input : undefined };
  }

  private newTurn(mode: SimMode, file: string | undefined, speechSeconds: number) {
    if (this.turn) {
      // The device moved on: the turn before is over for it.
      this.turn.interrupted = true;
      this.wakeAll();
    }
    const turn = { file, mode, sentences: [], frames: 0, audioSeconds: 0, badFrames: 0, droppedFrames: 0, timings: { speechMs: Math.round(speechSeconds * 1000) }, ok: false, endAt: 0 } as SimTurn & { endAt: number };
    this.turn = turn;
    return turn;
  }

  private async finishTurn(turn: SimTurn & { endAt: number }, opts: { pace?: number; replyTimeoutMs?: number; abortAfterMs?: number }): Promise<SimTurn> {
    const timeout = opts.replyTimeoutMs ?? 60_000;
    turn.endAt = performance.now();
    if (turn.mode === "manual") this.listenStop();
    try {
      if (opts.abortAfterMs !== undefined) {
        await this.waitFor(() => turn.frames > 0 || this.sawStop(turn), timeout, "the first audio frame");
        await Bun.sleep(opts.abortAfterMs);
        this.abort();
      }
      await this.waitFor(() => this.sawStop(turn) || turn.interrupted === true, timeout, "tts stop");
      // A last look for frames that come after tts stop (the device would drop them).
      await Bun.sleep(50);
      turn.ok = turn.badFrames === 0 && (turn.interrupted || opts.abortAfterMs !== undefined || turn.frames > 0 || turn.sentences.length === 0);
      if (turn.badFrames) turn.error = `${turn.badFrames} frames did not decode to ${this.frameSamples()} samples`;
    } catch (e) {
      turn.error = (e as Error).message;
    }
    if (this.turn === turn) this.turn = undefined;
    const { endAt: _e, ...out } = turn;
    return out;
  }

  private sawStop(turn: SimTurn): boolean {
    return turn.timings.ttsStopMs !== undefined;
  }

  private frameSamples(): number {
    return (this.serverAudio.sampleRate * this.serverAudio.frameDuration) / 1000;
  }

  // ---- what the device receives -------------------------------------------------------------

  private onMessage(data: string | ArrayBuffer) {
    const now = performance.now();
    if (typeof data !== "string") return this.onAudio(new Uint8Array(data), now);
    let m: any;
    try {
      m = JSON.parse(data);
    } catch {
      return this.log(`non-JSON text: ${data.slice(0, 80)}`);
    }
    if (typeof m?.type !== "string") return this.log(`Missing message type, data: ${data.slice(0, 80)}`);
    this.received.push({ at: now, message: m });
    const turn = this.turn;
    const since = () => (turn ? Math.round(now - turn.endAt) : undefined);
    switch (m.type) {
      case "hello":
        if (m.transport !== "websocket") return this.log(`Unsupported transport: ${m.transport}`);
        if (typeof m.session_id === "string") this.sessionId = m.session_id;
        if (typeof m.audio_params?.sample_rate === "number") this.serverAudio.sampleRate = m.audio_params.sample_rate;
        if (typeof m.audio_params?.frame_duration === "number") this.serverAudio.frameDuration = m.audio_params.frame_duration;
        this.decoder?.free();
        this.decoder = new OpusDecoder({ sampleRate: this.serverAudio.sampleRate as 24000, channels: 1 });
        break;
      case "stt":
        if (turn && typeof m.text === "string") {
          turn.heard = m.text;
          turn.timings.sttMs ??= since();
        }
        this.log(`>> ${m.text}`);
        break;
      case "llm":
        if (turn && typeof m.emotion === "string") turn.emotion = m.emotion;
        break;
      case "tts":
        if (m.state === "start") {
          this.state = "speaking";
          if (this.lastAbort) this.lastAbort.nextReply = true; // frames from here on are the next reply's
          if (turn) turn.timings.ttsStartMs ??= since();
        } else if (m.state === "sentence_start") {
          if (turn && typeof m.text === "string") turn.sentences.push(m.text);
          this.log(`<< ${m.text}`);
        } else if (m.state === "stop") {
          // (a stop before this turn's tts start ends an interrupted reply, not this one)
          if (turn && turn.timings.ttsStartMs !== undefined) turn.timings.ttsStopMs ??= since();
          if (this.lastAbort) this.lastAbort.ttsStopMs ??= Math.round(now - this.lastAbort.at);
          if (this.state === "speaking") {
            if (this.mode === "manual") this.state = "idle";
            else {
              // Back to listening; the firmware says so (StartListeningAudio) in auto mode.
              this.state = "listening";
              if (this.mode === "auto" && !this.closed) this.sendJson({ session_id: this.sessionId ?? "", type: "listen", state: "start", mode: "auto" });
              this.ensureMic();
            }
          }
        }
        break;
      case "mcp":
        if (typeof m.payload === "object" && m.payload !== null) this.onMcp(m.payload);
        break;
    }
    this.wakeAll();
  }

  private onAudio(bytes: Uint8Array, now: number) {
    const turn = this.turn;
    if (this.lastAbort && !this.lastAbort.nextReply) {
      this.lastAbort.frames++;
      this.lastAbort.lastFrameMs = Math.round(now - this.lastAbort.at);
    }
    if (this.state !== "speaking") {
      if (turn) turn.droppedFrames++;
      return;
    }
    if (!turn) return;
    let payload: Uint8Array;
    try {
      payload = decodeFrame(this.protocol, bytes).payload;
    } catch (e) {
      turn.badFrames++;
      return;
    }
    turn.timings.firstAudioMs ??= Math.round(now - turn.endAt);
    turn.frames++;
    const out = this.decoder?.decodeFrame(payload);
    if (!out || out.errors.length || out.samplesDecoded !== this.frameSamples()) turn.badFrames++;
    else turn.audioSeconds += out.samplesDecoded / this.serverAudio.sampleRate;
    this.wakeAll();
  }

  /** McpServer::ParseMessage. */
  private onMcp(p: any) {
    if (p.jsonrpc !== "2.0") return this.log("Invalid JSONRPC version");
    if (typeof p.method !== "string") return; // a response to nothing we asked
    if (p.method.startsWith("notifications")) return;
    if (p.params !== undefined && (typeof p.params !== "object" || p.params === null || Array.isArray(p.params))) return this.log(`Invalid params for method: ${p.method}`);
    if (typeof p.id !== "number") return this.log(`Invalid id for method: ${p.method}`);
    this.mcpRequests.push(p.method);
    const reply = (payload: Record<string, unknown>) => this.sendJson({ session_id: this.sessionId ?? "", type: "mcp", payload: { jsonrpc: "2.0", id: p.id, ...payload } });
    if (p.method === "initialize") {
      return reply({ result: { protocolVersion: "2024-11-05", capabilities: { tools: {} }, serverInfo: { name: this.opts.board ?? "bread-compact-wifi", version: this.opts.firmware ?? "1.8.2" } } });
    }
    if (p.method === "tools/list") {
      const cursor = typeof p.params?.cursor === "string" ? p.params.cursor : "";
      const start = cursor ? Math.max(0, this.tools.findIndex((t) => t.name === cursor)) : 0;
      const per = this.opts.toolsPerPage ?? this.tools.length;
      const page = this.tools.slice(start, start + per);
      const next = this.tools[start + per]?.name;
      return reply({ result: { tools: page.map(({ name, description, inputSchema }) => ({ name, description, inputSchema })), ...(next ? { nextCursor: next } : {}) } });
    }
    if (p.method === "tools/call") {
      const tool = this.tools.find((t) => t.name === p.params?.name);
      if (!tool) return reply({ error: { message: `Unknown tool: ${p.params?.name}` } });
      void (async () => tool.call(p.params.arguments ?? {}))().then(
        (text) => reply({ result: { content: [{ type: "text", text }], isError: false } }),
        (e) => reply({ result: { content: [{ type: "text", text: (e as Error).message }], isError: true } }),
      );
      return;
    }
    reply({ error: { message: `Method not implemented: ${p.method}` } });
  }

  // ---- waiting ------------------------------------------------------------------------------

  waitFor(check: () => boolean, ms: number, what: string): Promise<void> {
    if (check()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`timed out after ${ms} ms waiting for ${what}`));
      }, ms);
      const waiter = {
        check,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      this.waiters.push(waiter);
    });
  }

  private wakeAll() {
    const ready = this.waiters.filter((w) => w.check());
    this.waiters = this.waiters.filter((w) => !ready.includes(w));
    for (const w of ready) w.resolve();
  }
}

/** A WAV file as 16 kHz mono. */
export async function readSpeech(file: string): Promise<Float32Array> {
  const wav = decodeWav(new Uint8Array(await Bun.file(file).arrayBuffer()));
  return wav.sampleRate === UP_RATE ? wav.samples : resample(wav.samples, wav.sampleRate, UP_RATE);
}

/** The tools every stock board has (mcp_server.cc AddCommonTools). */
export function defaultTools(device: SimXiaozhi): SimTool[] {
  return [
    {
      name: "self.get_device_status",
      description: "Provides the real-time information of the device, including the current status of the audio speaker, screen, battery, network, etc.",
      inputSchema: { type: "object", properties: {} },
      call: () => JSON.stringify({ audio_speaker: { volume: device.volume }, network: { type: "wifi", ssid: "home", signal: "strong" } }),
    },
    {
      name: "self.audio_speaker.set_volume",
      description: "Set the volume of the audio speaker. If the current volume is unknown, you must call `self.get_device_status` tool first and then call this tool.",
      inputSchema: { type: "object", properties: { volume: { type: "integer", minimum: 0, maximum: 100 } }, required: ["volume"] },
      call: (args) => {
        const v = args.volume;
        if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > 100) throw new Error("Missing valid argument: volume");
        device.volume = v;
        return "true";
      },
    },
  ];
}
