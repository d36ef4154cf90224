// One xiaozhi device's WebSocket session (docs/websocket.md, websocket_protocol.cc,
// application.cc): the device's hello gets Hearth's at once (the device waits 10 s), its listen
// messages drive the Listener, its Opus frames (framed as its protocol version says) become
// utterances, each utterance a reply (turn.ts). `abort`, a new `listen start` or a wake word while
// a reply is under way interrupt it; in realtime mode so does new speech. A device without hello
// within the timeout is closed; garbage is counted and dropped, never fatal.
import { randomUUID } from "node:crypto";
import type { Socket } from "../../http/routes.ts";
import { logger } from "../../log.ts";
import type { Listening } from "../../pipeline/listen.ts";
import type { TurnRunner } from "../../pipeline/turns.ts";
import type { DeviceTools } from "../../pipeline/types.ts";
import { decodeFrame, encodeFrame, FrameError, TYPE_JSON, type ProtocolVersion } from "./framing.ts";
import { Listener, type SpeechDetectors, type Utterance } from "./listening.ts";
import { McpClient, McpError, type McpTool } from "./mcp.ts";
import { Outgoing, parseDeviceMessage, type DeviceMessage, type ListenMode } from "./messages.ts";
import { xiaozhiMetrics } from "./metrics.ts";
import { LISTEN_RATE, OpusPacketError, UpstreamDecoder } from "./opus.ts";
import { FRONT_END, runReply, type ReplyOutcome } from "./turn.ts";

const log = logger("xiaozhi");

export interface SessionSettings {
  /** Mode assumed when a listen message names none ([xiaozhi] listen_mode). */
  listenMode: ListenMode;
  /** Silence that ends speech in auto and realtime modes, ms. */
  endSilenceMs: number;
  /** A device that sends no hello in this time is closed. */
  helloTimeoutMs: number;
  maxUtteranceSeconds: number;
  leadFrames: number;
  tailMs: number;
  mcpTimeoutMs: number;
  version: string;
}

export interface SessionDeps {
  /** Normalized Device-Id. */
  device: string;
  clientId?: string;
  protocol: ProtocolVersion;
  socket: Socket;
  turns: TurnRunner;
  detectors: SpeechDetectors;
  /** Recognition while the device streams (pipeline/listen.ts), when available. */
  listen?: () => Listening;
  /** The role key this device talks to now. */
  role(): string;
  settings: SessionSettings;
  /** Something the device list shows changed (hello, tools, closed). */
  changed(): void;
  /** The device listed its MCP tools: a turn may now offer them (its prompt changes with them). */
  toolsListed?(tools: DeviceTools): void;
}

type Phase = "awaiting_hello" | "open" | "closed";

/** Early frames kept while the decoder starts (a few hundred ms of audio at most). */
const MAX_EARLY_FRAMES = 32;

export class XiaozhiSession {
  readonly sessionId = randomUUID();
  readonly openedAt = Date.now();
  lastSeen = Date.now();
  phase: Phase = "awaiting_hello";
  /** The device's MCP tools (empty when it has none, or did not say features.mcp). */
  tools: McpTool[] = [];
  /** The device does its own echo cancellation (features.aec): its default mode is realtime. */
  aec = false;
  /** The microphone's frame duration (hello audio_params.frame_duration). */
  private upFrameMs = 60;
  private readonly out: Outgoing;
  private readonly listener: Listener;
  private readonly helloTimer: ReturnType<typeof setTimeout>;
  private decoder?: UpstreamDecoder;
  private readonly early: Uint8Array[] = [];
  private mcp?: McpClient;
  private current?: { controller: AbortController; done: Promise<ReplyOutcome> };
  private lastReply?: Promise<ReplyOutcome>;
  private turnCount = 0;
  private warnedDrops = new Set<string>();

  constructor(private readonly deps: SessionDeps) {
    this.out = new Outgoing(this.sessionId);
    this.listener = new Listener({
      detectors: deps.detectors,
      listen: deps.listen,
      endSilenceMs: deps.settings.endSilenceMs,
      maxSeconds: deps.settings.maxUtteranceSeconds,
      onSpeechStart: () => this.onSpeechStart(),
      onUtterance: (u) => this.reply(u),
    });
    this.helloTimer = setTimeout(() => {
      log.warn("device sent no hello: closing its WebSocket", { device: deps.device, waitedMs: deps.settings.helloTimeoutMs });
      this.close(1008, "no hello");
    }, deps.settings.helloTimeoutMs);
    void UpstreamDecoder.create().then(
      (d) => {
        if (this.phase === "closed") return d.close();
        this.decoder = d;
        for (const frame of this.early.splice(0)) this.onAudio(frame);
      },
      (e) => {
        log.error("cannot start the Opus decoder", { device: deps.device, error: (e as Error).message });
        this.close(1011, "no decoder");
      },
    );
  }

  get device(): string {
    return this.deps.device;
  }

  /** The device's IP, as its connection comes from. */
  get address(): string {
    return this.deps.socket.remoteAddress;
  }

  get protocol(): ProtocolVersion {
    return this.deps.protocol;
  }

  /** A reply (or the turn before it) is under way. */
  get busy(): boolean {
    return this.current !== undefined;
  }

  // ---- from the socket --------------------------------------------------------------------

  onMessage(data: string | Uint8Array) {
    if (this.phase === "closed") return;
    this.lastSeen = Date.now();
    if (typeof data === "string") return this.onText(data);
    if (this.phase === "awaiting_hello") return this.drop("before_hello");
    let frame;
    try {
      frame = decodeFrame(this.deps.protocol, data);
    } catch (e) {
      if (e instanceof FrameError) return this.drop(e.reason, e.message);
      throw e;
    }
    if (frame.type === TYPE_JSON) return this.onText(new TextDecoder().decode(frame.payload));
    this.onAudio(frame.payload);
  }

  /** The socket closed (either side). The running turn is cancelled. */
  onClose(why = "the device disconnected") {
    if (this.phase === "closed") return;
    this.phase = "closed";
    clearTimeout(this.helloTimer);
    this.interrupt(why, "disconnect");
    this.listener.close();
    this.decoder?.close();
    this.mcp?.close();
    this.deps.changed();
  }

  /** Ends the session from our side (shutdown, a broken device). */
  close(code = 1001, reason = "going away") {
    if (this.phase === "closed") return;
    try {
      this.deps.socket.close(code, reason);
    } catch {}
    this.onClose(`Hearth closed the session (${reason})`);
  }

  /** Waits until the last reply has wound down (its turn recorded). */
  async settled(): Promise<void> {
    await this.lastReply;
  }

  /** Calls one of the device's MCP tools. */
  callTool(name: string, args: Record<string, unknown>, signal?: AbortSignal) {
    if (!this.mcp) throw new McpError("the device did not announce MCP (features.mcp) in its hello");
    return this.mcp.call(name, args, signal);
  }

  /** The device's tools for a turn (a role with device_tools lets the model call them); none without MCP. */
  private deviceTools(): DeviceTools | undefined {
    if (!this.mcp) return undefined;
    return {
      list: () => this.tools,
      call: async (name, args, signal) => {
        const result = await this.callTool(name, args, signal);
        const text = result.content.map((c) => (c.type === "text" ? (c.text ?? "") : `[${c.type}]`)).join("\n");
        return { text, isError: result.isError };
      },
    };
  }

  // ---- messages -----------------------------------------------------------------------------

  private onText(text: string) {
    const m = parseDeviceMessage(text);
    if (m.kind === "invalid") return this.drop("bad_json", `${m.reason}: ${text.slice(0, 120)}`);
    if (m.kind !== "hello" && this.phase === "awaiting_hello") return this.drop("before_hello", `a ${m.kind} message before hello`);
    switch (m.kind) {
      case "hello":
        return this.onHello(m);
      case "listen":
        return this.onListen(m);
      case "abort":
        // The device stays in its speaking state until it hears tts stop: an interrupted reply that
        // had started speaking sends it; otherwise it goes from here.
        if (!this.interrupt(`the device aborted (${m.reason ?? "button"})`, m.reason === "wake_word_detected" ? "wake_word" : "abort")) this.send(this.out.ttsStop());
        return;
      case "mcp":
        if (!this.mcp?.onMessage(m.payload)) log.debug("MCP message not answered", { device: this.device, payload: m.payload });
        return;
      case "other":
        return log.debug("device message not handled", { device: this.device, type: m.type });
    }
  }

  private onHello(m: Extract<DeviceMessage, { kind: "hello" }>) {
    if (m.audio.format !== "opus") {
      log.error("device streams audio Hearth cannot decode: closing", { device: this.device, format: m.audio.format });
      return this.close(1003, "audio_params.format must be opus");
    }
    const first = this.phase === "awaiting_hello";
    clearTimeout(this.helloTimer);
    this.phase = "open";
    this.aec = m.aec;
    if ([10, 20, 40, 60, 80, 100, 120].includes(m.audio.frameDuration)) this.upFrameMs = m.audio.frameDuration;
    this.send(this.out.hello());
    if (!first) return;
    log.info("device session open", { device: this.device, session: this.sessionId, protocol: this.deps.protocol, mcp: m.mcp, aec: m.aec, upstream: `${m.audio.format} ${m.audio.sampleRate} Hz ${m.audio.frameDuration} ms` });
    this.deps.changed();
    if (m.mcp) this.startMcp();
  }

  private onListen(m: Extract<DeviceMessage, { kind: "listen" }>) {
    if (m.state === "stop") {
      const u = this.listener.stop();
      if (u && u.samples.length > 0) this.reply(u);
      return;
    }
    // start, or a wake word (detect): whatever was being answered is no longer wanted
    if (this.busy) this.interrupt(m.state === "detect" ? "the wake word was said" : "the device started listening again", m.state === "detect" ? "wake_word" : "listen_start");
    const mode = m.mode ?? (this.aec ? "realtime" : this.deps.settings.listenMode);
    this.listener.start(mode);
    log.debug("listening", { device: this.device, mode, wakeWord: m.state === "detect" ? m.text : undefined });
  }

  private onSpeechStart() {
    // Realtime: the microphone stays open while Hearth speaks; new speech interrupts the reply.
    if (this.listener.currentMode === "realtime" && this.busy) this.interrupt("the child started speaking", "speech");
  }

  // ---- audio --------------------------------------------------------------------------------

  private onAudio(packet: Uint8Array) {
    if (!this.decoder) {
      if (this.early.length < MAX_EARLY_FRAMES) this.early.push(packet.slice());
      return;
    }
    // Not listening: an auto-mode device streams on after the end of speech until it speaks. Normal, not counted.
    if (!this.listener.listening) return;
    // Nothing sent for a frame (DTX): a frame of silence, so the end of speech is still found.
    if (packet.length === 0) return this.listener.audio(new Float32Array((LISTEN_RATE * this.upFrameMs) / 1000));
    let samples: Float32Array;
    try {
      samples = this.decoder.decode(packet);
    } catch (e) {
      if (e instanceof OpusPacketError) return this.drop("undecodable", e.message);
      throw e;
    }
    this.listener.audio(samples);
  }

  // ---- replies ------------------------------------------------------------------------------

  private reply(u: Utterance) {
    if (this.phase === "closed") return;
    this.interrupt("a newer question", "new_question");
    const controller = new AbortController();
    const n = ++this.turnCount;
    const done = runReply({
      turns: this.deps.turns,
      key: { frontEnd: FRONT_END, device: this.device, role: this.deps.role() },
      utterance: u,
      id: `${this.device}-${this.sessionId.slice(0, 8)}-${n}`,
      out: this.out,
      sendText: (message) => this.send(message),
      sendAudio: (packet, ts) => this.send(encodeFrame(this.deps.protocol, packet, ts)),
      signal: controller.signal,
      leadFrames: this.deps.settings.leadFrames,
      tailMs: this.deps.settings.tailMs,
      tools: this.deviceTools(),
    });
    const current = { controller, done };
    this.current = current;
    this.lastReply = done;
    void done.then((outcome) => {
      if (this.current !== current) return;
      this.current = undefined;
      // An auto-mode device that heard nothing back is still listening: so are we.
      if (!outcome.spoke && u.mode === "auto" && this.phase === "open" && !this.listener.listening) this.listener.resume();
    });
  }

  /** Stops the reply under way at once (no more frames; tts stop if it had started). False when there was none. */
  private interrupt(reason: string, by: string): boolean {
    const current = this.current;
    if (!current) return false;
    this.current = undefined;
    if (by !== "new_question") xiaozhiMetrics.countInterruption(by);
    current.controller.abort(new Error(reason));
    return true;
  }

  // ---- to the socket ------------------------------------------------------------------------

  private send(data: string | Uint8Array) {
    if (this.phase === "closed") return;
    try {
      this.deps.socket.send(data);
    } catch (e) {
      log.debug("send failed", { device: this.device, error: (e as Error).message });
    }
  }

  private startMcp() {
    const mcp = new McpClient((payload) => this.send(this.out.mcp(payload)), { timeoutMs: this.deps.settings.mcpTimeoutMs, clientVersion: this.deps.settings.version });
    this.mcp = mcp;
    mcp.start().then(
      (tools) => {
        this.tools = tools;
        log.info("device tools (MCP)", { device: this.device, tools: tools.map((t) => t.name), server: mcp.serverInfo?.name });
        this.deps.changed();
        const provider = this.deviceTools();
        if (provider) this.deps.toolsListed?.(provider);
      },
      (e) => log.warn("device announced MCP but did not list its tools", { device: this.device, error: (e as Error).message }),
    );
  }

  private drop(reason: string, detail?: string) {
    xiaozhiMetrics.countDropped(reason);
    if (!this.warnedDrops.has(reason)) {
      this.warnedDrops.add(reason);
      log.warn("dropped a message from a device (once per reason per session; counted in hearth_xiaozhi_dropped_total)", { device: this.device, reason, detail });
    } else {
      log.debug("dropped a message", { device: this.device, reason, detail });
    }
  }
}
