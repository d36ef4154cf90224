// The FoloToy front end: MQTT control (embedded or external broker), UDP speech, reply MP3s over
// HTTP. It turns toy messages into pipeline turns and the turns' sentences into audioplay; the
// conversation itself (STT, prompt, history, LLM, TTS) is the pipeline's.
import { join } from "node:path";
import { s16leToFloat } from "../../audio/pcm.ts";
import type { LoadedConfig } from "../../config/load.ts";
import type { Routes } from "../../http/routes.ts";
import { NotFound } from "../../errors.ts";
import { logger } from "../../log.ts";
import { metrics } from "../../metrics.ts";
import { lineText } from "../../pipeline/lines.ts";
import { Listening, type PauseDetectors } from "../../pipeline/listen.ts";
import type { Pipeline } from "../../pipeline/pipeline.ts";
import type { ToyStatus } from "../../pipeline/types.ts";
import type { DeviceFrontEnd } from "../types.ts";
import { advertisedHost, audioBase, type AddressContext } from "./addresses.ts";
import { AudioStore, etagOf, toyMp3 } from "./audio-store.ts";
import { EmbeddedBroker, ExternalBroker, integrationPassword, type Broker, type BrokerHandlers } from "./broker.ts";
import { warnAboutBrokerAcl } from "./acl.ts";
import { Commands } from "./commands.ts";
import { parseIncoming, RELAYABLE_COMMANDS, SN_PATTERN, toInt, topics } from "./mqtt.ts";
import { ToySession } from "./session.ts";
import { TokenStore } from "./tokens.ts";
import { FRONT_END, runToyTurn } from "./turn.ts";
import { RecordingAssembler, TOY_SAMPLE_RATE, UdpSpeechServer, type DropReason, type Recording, type RefusedRecording } from "./udp.ts";

const log = logger("toy");

/** Toys of the external-broker mode count as connected this long after their last message. */
const EXTERNAL_PRESENCE_MS = 10 * 60_000;
/** A toy known this long (or since before this start, or listed in known_toys) is "established": see admit(). */
const ESTABLISHED_AFTER_MS = 10 * 60_000;

export interface FolotoyDeps {
  config: LoadedConfig;
  pipeline: Pipeline;
  /** The HTTP port actually bound (toys download replies from it; the config may say 0). */
  httpPort: number;
  /** Pause detectors: with them, a recording is recognized while it arrives (pipeline/listen.ts). */
  pauses?: PauseDetectors;
}

export class FolotoyFrontEnd implements DeviceFrontEnd {
  readonly name = FRONT_END;
  readonly routes: Routes;
  /** Ports actually bound (config may say 0 in tests). */
  mqttPort = 0;
  udpPort = 0;

  private readonly config: LoadedConfig;
  private readonly pipeline: Pipeline;
  private readonly sessions = new Map<string, ToySession>();
  private readonly running = new Set<Promise<void>>();
  /** Turns running per toy (a superseded one may still be finishing). */
  private readonly turnsBySn = new Map<string, number>();
  private readonly tokens: TokenStore;
  private readonly store: AudioStore;
  private readonly assembler: RecordingAssembler;
  private readonly udp: UdpSpeechServer;
  private readonly startedAt = Date.now();
  /** The "ask me again" line stored as an MP3 per voice, reused while it is kept (refused recordings). */
  private readonly busyLines = new Map<string, { name: string; at: number }>();
  private readonly unhandledLogged = new Set<string>();
  /** The recording each toy is sending now, recognized as it arrives (when pause detectors were given). */
  private readonly listenings = new Map<string, { recordingId: number; listening: Listening }>();
  private readonly commands = new Commands(() => this.broker);
  private readonly addresses: AddressContext;
  private broker?: Broker;
  private housekeeping?: ReturnType<typeof setInterval>;
  private stopped = false;

  constructor(deps: FolotoyDeps) {
    const { config } = deps;
    this.config = config;
    this.pipeline = deps.pipeline;
    this.tokens = new TokenStore(join(config.state.dir, "tokens.json"), {
      maxToys: config.toy.max_toys,
      protect: (sn) => sn in config.toy.known_toys || !!this.sessions.get(sn)?.connected,
      known: (sn) => sn in config.toy.known_toys,
    });
    this.store = new AudioStore(join(config.state.dir, "audio"), config.toy.audio_ttl_seconds);
    this.assembler = new RecordingAssembler({
      snOfToken: (token) => this.tokens.snOf(token),
      admit: (sn) => this.admit(sn),
      onStart: (sn, recordingId) => {
        this.tokens.seen(sn);
        this.pipeline.turns.cancel(FRONT_END, sn, "the toy started a new recording");
        this.startListening(sn, recordingId, deps.pauses);
      },
      onAudio: (sn, recordingId, pcm) => {
        const l = this.listenings.get(sn);
        if (l?.recordingId === recordingId) l.listening.push(s16leToFloat(pcm));
      },
      onRecording: (rec) => this.startTurn(rec),
      onRefused: (rec) => void this.tellBusy(rec),
      onDrop: (reason, sn) => this.onDrop(reason, sn),
    });
    this.udp = new UdpSpeechServer(this.assembler);
    this.addresses = {
      config,
      httpPort: deps.httpPort,
      get brokerKind() {
        return undefined as "embedded" | "external" | undefined;
      },
      persistedHost: (sn) => this.tokens.get(sn)?.host,
    };
    Object.defineProperty(this.addresses, "brokerKind", { get: () => this.broker?.kind });
    this.routes = {
      "/audio/:file": { GET: (req) => this.store.serve(req.params.file ?? "") },
      // under /api/: needs the API key when keys are set
      "/api/devices/folotoy/:sn/key": {
        DELETE: (req) => {
          const sn = req.params.sn ?? "";
          if (!this.resetKey(sn)) throw new NotFound(`No toy with SN ${JSON.stringify(sn)} is known.`, "sn", "unknown_device");
          return Response.json({ sn, reset: true });
        },
      },
    };
  }

  /**
   * Forgets the key a toy first logged in with (trust on first use): its next login is trusted
   * and teaches the key again. For a toy that was reset or replaced. False for an unknown toy.
   */
  resetKey(sn: string): boolean {
    if (!SN_PATTERN.test(sn) || !this.tokens.resetKey(sn)) return false;
    log.info("toy key reset: the next login with this SN is trusted and its key remembered", { sn });
    return true;
  }

  async start(): Promise<void> {
    const { config } = this;
    try {
      this.tokens.load();
      this.store.start();
      this.udpPort = await this.udp.start(config.toy.udp_port);
      log.info("listening for toy speech", { udpPort: this.udpPort });
      await this.startBroker();
    } catch (e) {
      await this.stop();
      throw e;
    }
    this.housekeeping = setInterval(() => this.tidy(), 10_000);
  }

  // ---- DeviceFrontEnd ---------------------------------------------------------------------

  devices(): ToyStatus[] {
    for (const sn of this.tokens.sns()) this.session(sn);
    return [...this.sessions.values()].map((s) => s.status()).sort((a, b) => a.sn.localeCompare(b.sn));
  }

  ready(): { ok: boolean; reasons: string[] } {
    const reasons: string[] = [];
    const broker = this.broker?.health() ?? { ok: false, reason: "MQTT not started" };
    if (!broker.ok) reasons.push(broker.reason!);
    if (!this.udp.listening) reasons.push("toy UDP port is not open");
    return { ok: reasons.length === 0, reasons };
  }

  listening(): Record<string, number | string> {
    return this.config.mqtt.url ? { mqtt: this.config.mqtt.url, udp: this.udpPort } : { mqtt: this.mqttPort, udp: this.udpPort };
  }

  howToConnect(host: string): string {
    if (this.config.mqtt.url) return `FoloToy toys: through the MQTT broker ${this.config.mqtt.url} (speech on UDP ${this.udpPort})`;
    return `FoloToy toys: MQTT server ${host}, port ${this.mqttPort} (on the toy's setup page; speech on UDP ${this.udpPort})`;
  }

  /** Turns running now. */
  get activeTurns(): number {
    return this.running.size;
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.housekeeping);
    for (const l of this.listenings.values()) l.listening.cancel();
    this.listenings.clear();
    for (const s of this.sessions.values()) this.pipeline.turns.cancel(FRONT_END, s.sn, "shutting down");
    await Promise.race([Promise.all(this.running), Bun.sleep(5000)]);
    await this.udp.stop();
    await this.broker?.stop();
    this.store.stop();
    metrics.setToysConnected(0);
  }

  // ---- MQTT ----------------------------------------------------------------------------

  private async startBroker() {
    const { config } = this;
    const handlers: BrokerHandlers = {
      message: (topic, payload) => this.onMessage(topic, payload),
      toyConnected: (c) => {
        const s = this.session(c.sn);
        s.connected = true;
        s.lastSeen = Date.now();
        s.localAddress = c.localAddress;
        s.address = c.remoteAddress;
        log.info("toy connected", { sn: c.sn, from: c.remoteAddress, via: c.localAddress });
        this.countConnected();
      },
      toyDisconnected: (sn) => {
        this.session(sn).connected = false;
        log.info("toy disconnected", { sn });
        this.countConnected();
      },
    };
    if (config.mqtt.url) {
      this.broker = new ExternalBroker({ url: config.mqtt.url, username: config.mqtt.username, password: config.mqtt.password }, handlers);
      await this.broker.start();
      // once: an owner's Mosquitto ACL (FoloToy's acl.conf) may deny topics Hearth needs; say which line to add
      void warnAboutBrokerAcl({ url: config.mqtt.url, username: config.mqtt.username, password: config.mqtt.password });
      return;
    }
    const embedded = new EmbeddedBroker(
      {
        port: config.mqtt.port,
        serverUsername: config.mqtt.username,
        // never open by default: without a configured password, one is generated and kept in the state folder
        serverPassword: config.mqtt.password || integrationPassword(join(config.state.dir, "mqtt-password")),
        acceptUnknownToys: config.mqtt.accept_unknown_toys,
        knownToys: config.toy.known_toys,
        checkToyKey: (sn, key) => this.tokens.checkKey(sn, key),
        maxConnections: config.mqtt.max_connections,
        maxConnectionsPerAddress: config.mqtt.max_connections_per_address,
      },
      handlers,
    );
    this.broker = embedded;
    await embedded.start();
    this.mqttPort = embedded.port;
  }

  private onMessage(topic: string, payload: Buffer) {
    const m = parseIncoming(topic, payload);
    if (!m) return;
    if (m.kind === "invalid") return log.warn("ignored an MQTT message", { topic, reason: m.reason });
    if (m.kind === "sysconfig") return this.onSysConfig(m.msgId, m.identifier, m.body);
    if (m.kind === "relay") return void this.onRelay(m.sn, m.msgId, m.identifier, m.params);
    if (!this.admitted(m.sn)) return;
    const s = this.session(m.sn);
    s.lastSeen = Date.now();
    if (this.broker?.kind === "external" && !s.connected) {
      s.connected = true;
      this.countConnected();
    }
    if (m.kind === "ack") return this.commands.onAck(m.sn, m.msgId, m.identifier, m.result);
    if (m.kind === "data") {
      const first = !s.dataConfig && m.identifier === "data_config";
      s.applyData(m.identifier, m.params);
      if (m.identifier === "data_config" && toInt(m.params.role) !== null) this.setRole(s, toInt(m.params.role)!);
      (first ? log.info : log.debug)("toy report", { sn: m.sn, identifier: m.identifier, params: m.params });
      return;
    }
    switch (m.identifier) {
      case "login":
        return void this.onLogin(s, m.params);
      case "press_small_btn":
        return void this.onButton(s, m.params);
      default: {
        // said once per toy and identifier (a toy could send thousands)
        const seen = `${m.sn}:${m.identifier.slice(0, 64)}`;
        if (this.unhandledLogged.size >= 1000) this.unhandledLogged.clear();
        (this.unhandledLogged.has(seen) ? log.debug : log.info)("toy event not handled", { sn: m.sn, identifier: m.identifier, params: m.params });
        this.unhandledLogged.add(seen);
      }
    }
  }

  private admitted(sn: string): boolean {
    if (this.config.mqtt.accept_unknown_toys || sn in this.config.toy.known_toys) return true;
    if (this.broker?.kind === "external") log.debug("message from a toy not in [toy] known_toys ignored", { sn });
    return false;
  }

  private async onLogin(s: ToySession, params: Record<string, unknown>) {
    this.pipeline.turns.cancel(FRONT_END, s.sn, "the toy logged in again");
    this.setRole(s, toInt(params.role) ?? this.tokens.get(s.sn)?.role ?? s.role);
    const token = this.tokens.tokenFor(s.sn);
    if (token === undefined) return; // tokens.json is full; the store said so in the log
    const { host, why } = advertisedHost(this.addresses, s);
    this.tokens.update(s.sn, { host, role: s.role });
    this.commands.send(s.sn, "updatetoken", { token });
    this.commands.send(s.sn, "updateconfig", { speechUdpServerHost: host, speechUdpServerPort: this.udpPort });
    log.info("toy logged in: advertised UDP speech server and audio base URL", {
      sn: s.sn,
      role: s.role,
      udp: `${host}:${this.udpPort}`,
      because: why,
      audio: audioBase(this.addresses, s),
    });
    void this.pipeline.warmer.warm({ frontEnd: FRONT_END, device: s.sn, role: String(s.role) });
    await this.playGreeting(s);
  }

  private async onButton(s: ToySession, params: Record<string, unknown>) {
    const key = toInt(params.keyCode) ?? s.role;
    const changed = toInt(params.changed);
    if (changed === 0) {
      this.setRole(s, key);
      this.pipeline.turns.forget({ frontEnd: FRONT_END, device: s.sn, role: String(key) });
      log.info("role button pressed again: conversation cleared", { sn: s.sn, role: key });
      void this.pipeline.warmer.warm({ frontEnd: FRONT_END, device: s.sn, role: String(key) });
      return;
    }
    this.pipeline.turns.cancel(FRONT_END, s.sn, "the toy switched roles");
    this.setRole(s, key);
    log.info("role switched", { sn: s.sn, role: key });
    void this.pipeline.warmer.warm({ frontEnd: FRONT_END, device: s.sn, role: String(s.role) });
    await this.playGreeting(s);
  }

  private setRole(s: ToySession, role: number) {
    if (!Number.isInteger(role) || role < 1) return;
    s.role = role;
    this.tokens.update(s.sn, { role });
  }

  /** updatestartvoice with the current role's start_text. */
  private async playGreeting(s: ToySession) {
    const { key, role } = this.pipeline.turns.role({ frontEnd: FRONT_END, device: s.sn, role: String(s.role) });
    if (!role.start_text?.trim()) return;
    try {
      const voice = this.pipeline.turns.voiceFor(role);
      const url = await this.speak(s, await this.pipeline.lines.get(role.start_text, voice, role.speed), "start");
      if (url) this.commands.send(s.sn, "updatestartvoice", { url, keyCode: s.role, etag: etagOf(url) });
    } catch (e) {
      metrics.countError("toy_greeting");
      log.error("cannot make the role's greeting", { sn: s.sn, role: key, error: (e as Error).message });
    }
  }

  /** An integration asks us to send iwantplay / updatecommonconfig to a toy. */
  private async onRelay(sn: string, msgId: number | null, identifier: string, params: Record<string, unknown>) {
    const refuse = (why: string) => {
      log.warn("integration command not relayed", { sn, identifier, why });
      this.broker?.publish(topics.sysCommandCallAck(sn), { msgId, identifier, result: 0 });
    };
    if (!(RELAYABLE_COMMANDS as readonly string[]).includes(identifier)) return refuse(`only ${RELAYABLE_COMMANDS.join(", ")} are relayed`);
    if (identifier === "updatecommonconfig") return this.commands.send(sn, identifier, params, { msgId });
    // iwantplay: a URL wins; else speak the text in the role's voice
    if (typeof params.url === "string" && params.url) return this.commands.send(sn, identifier, { url: params.url }, { msgId });
    if (typeof params.text !== "string" || !params.text.trim()) return refuse('iwantplay needs "url" or "text"');
    const s = this.session(sn);
    const { role } = this.pipeline.turns.role({ frontEnd: FRONT_END, device: sn, role: String(toInt(params.role) ?? s.role) });
    try {
      const voice = this.pipeline.voices.toSay(this.pipeline.turns.voiceFor(role), params.text); // the role's voice, if it can say the text
      const url = await this.speak(s, await this.pipeline.say(params.text, voice, role.speed), "play");
      if (!url) return refuse("the text produced no audio");
      this.commands.send(sn, identifier, { url }, { msgId });
    } catch (e) {
      refuse(`cannot synthesize the text: ${(e as Error).message}`);
    }
  }

  private onSysConfig(msgId: number | null, identifier: string, body: Record<string, unknown>) {
    let result = 0;
    if (identifier === "load_roles_config") result = this.pipeline.roles.reload().ok ? 1 : 0;
    else log.warn("/sys/config: unknown identifier", { identifier });
    this.broker?.publish(topics.sysConfigAck, { ...body, msgId, identifier, result });
  }

  // ---- speech ---------------------------------------------------------------------------

  private onDrop(reason: DropReason, sn?: string) {
    metrics.countUdpDrop(reason);
    log.debug("UDP datagram dropped", { reason, sn });
    if (reason === "encoded" && sn) {
      const s = this.session(sn);
      if (!s.hintedEncoded) {
        s.hintedEncoded = true;
        log.warn(
          "toy sends encoded audio (UDP frame type 0x00): its firmware has use_record_enc on, which Hearth cannot decode. Send it the serial command at+config=common,use_record_enc,false",
          { sn },
        );
      }
    }
  }

  /** A new recording replaces the toy's last one (superseded, or one that never ended). */
  private startListening(sn: string, recordingId: number, pauses: PauseDetectors | undefined) {
    this.listenings.get(sn)?.listening.cancel();
    this.listenings.delete(sn);
    if (!pauses || this.stopped) return;
    // The role's language steers recognizers that take a hint, as for a whole recording (turn.ts).
    const { role } = this.pipeline.turns.role({ frontEnd: FRONT_END, device: sn, role: String(this.session(sn).role) });
    const listening = new Listening({ stt: this.pipeline.engines.stt, detectors: pauses, sampleRate: TOY_SAMPLE_RATE, language: role.language ?? undefined });
    this.listenings.set(sn, { recordingId, listening });
  }

  private startTurn(rec: Recording) {
    let listening = this.listenings.get(rec.sn)?.listening;
    if (this.listenings.get(rec.sn)?.recordingId !== rec.recordingId) {
      listening?.cancel();
      listening = undefined;
    }
    this.listenings.delete(rec.sn);
    if (this.stopped) {
      listening?.cancel();
      return;
    }
    const s = this.session(rec.sn);
    const job = runToyTurn({
      listening,
      turns: this.pipeline.turns,
      store: this.store,
      role: s.role,
      timeoutMs: s.replyTimeoutMs(this.config.toy.reply_timeout_seconds * 1000),
      recording: rec,
      send: (identifier, params) => this.commands.send(s.sn, identifier, params),
      mirror: this.config.toy.integration_mirror ? (identifier, params) => this.commands.mirror(s.sn, identifier, params) : undefined,
      url: (name) => `${audioBase(this.addresses, s)}/audio/${name}`,
    });
    this.turnsBySn.set(rec.sn, (this.turnsBySn.get(rec.sn) ?? 0) + 1);
    const tracked = job.finally(() => {
      this.running.delete(tracked);
      const left = (this.turnsBySn.get(rec.sn) ?? 1) - 1;
      if (left > 0) this.turnsBySn.set(rec.sn, left);
      else this.turnsBySn.delete(rec.sn);
    });
    this.running.add(tracked);
  }

  /**
   * Whether a toy's new recording may be received: at most [toy] max_recordings toys at once have
   * a recording received or a turn running (a toy's new recording replaces its own). Toys that
   * just appeared share half of those places, so made-up toys can never crowd out the toys in use.
   */
  private admit(sn: string): boolean {
    const busy = this.assembler.receiving();
    for (const other of this.turnsBySn.keys()) busy.add(other);
    if (busy.has(sn)) return true;
    const max = this.config.toy.max_recordings;
    let admitted = busy.size < max;
    if (admitted && !this.established(sn)) {
      let newcomers = 0;
      for (const other of busy) if (!this.established(other)) newcomers++;
      admitted = newcomers < Math.max(1, Math.floor(max / 2));
    }
    if (!admitted) metrics.countError("toy_busy");
    return admitted;
  }

  /** Listed in known_toys, or known since before this start or for ESTABLISHED_AFTER_MS. */
  private established(sn: string): boolean {
    if (sn in this.config.toy.known_toys) return true;
    const issuedAt = this.tokens.get(sn)?.issuedAt ?? Infinity;
    return issuedAt < this.startedAt || Date.now() - issuedAt >= ESTABLISHED_AFTER_MS;
  }

  /** A recording that was turned away ended: the toy hears the role's "ask me again" line, not silence. */
  private async tellBusy(rec: RefusedRecording) {
    if (this.stopped) return;
    const s = this.session(rec.sn);
    log.warn("too many recordings at once ([toy] max_recordings): a toy was asked to try again", { sn: rec.sn, max: this.config.toy.max_recordings });
    try {
      const { role } = this.pipeline.turns.role({ frontEnd: FRONT_END, device: s.sn, role: String(s.role) });
      const voice = this.pipeline.turns.voiceFor(role);
      const text = lineText("trouble", role.language ?? undefined);
      const key = `${voice}|${role.speed ?? 1}|${text}`;
      let kept = this.busyLines.get(key);
      // reused for half its time to live: made once, not once per refused recording
      if (!kept || Date.now() - kept.at > (this.config.toy.audio_ttl_seconds * 1000) / 2) {
        const audio = await this.pipeline.lines.get(text, voice, role.speed);
        if (!audio) return;
        if (this.busyLines.size >= 32) this.busyLines.clear();
        kept = { name: await this.store.save("voice", await toyMp3(audio)), at: Date.now() };
        this.busyLines.set(key, kept);
      }
      this.commands.send(s.sn, "audioplay", { recordingId: rec.recordingId, order: 1, url: `${audioBase(this.addresses, s)}/audio/${kept.name}` });
      this.commands.send(s.sn, "audioplay_cmd", { recordingId: rec.recordingId, total: 1 });
    } catch (e) {
      log.error("cannot tell a toy to try again", { sn: rec.sn, error: (e as Error).message });
    }
  }

  /** Audio stored as one MP3 for the toy; its URL. */
  private async speak(s: ToySession, audio: Awaited<ReturnType<Pipeline["say"]>>, prefix: "start" | "play"): Promise<string | undefined> {
    if (!audio) return undefined;
    const name = await this.store.save(prefix, await toyMp3(audio));
    return `${audioBase(this.addresses, s)}/audio/${name}`;
  }

  // ---- bookkeeping ----------------------------------------------------------------------

  private session(sn: string): ToySession {
    let s = this.sessions.get(sn);
    if (!s) {
      s = new ToySession(sn);
      const persisted = this.tokens.get(sn);
      if (persisted) s.role = persisted.role;
      this.sessions.set(sn, s);
    }
    return s;
  }

  private countConnected() {
    let n = 0;
    for (const s of this.sessions.values()) if (s.connected) n++;
    metrics.setToysConnected(n);
  }

  private tidy() {
    const now = Date.now();
    this.commands.tidy(now);
    if (this.broker?.kind !== "external") return;
    let changed = false;
    for (const s of this.sessions.values()) {
      if (s.connected && now - s.lastSeen > EXTERNAL_PRESENCE_MS) {
        s.connected = false;
        changed = true;
      }
    }
    if (changed) this.countConnected();
  }
}
