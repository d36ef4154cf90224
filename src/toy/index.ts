// The FoloToy front end: MQTT control (embedded or external broker), UDP speech, reply MP3s over
// HTTP. Wires broker.ts, udp.ts, sessions.ts, roles.ts and turn.ts together; knows nothing of
// sherpa or llama (it reaches the engines through src/pipeline and the engine types).
import { join } from "node:path";
import type { LoadedConfig } from "../config/load.ts";
import type { Engines } from "../engines/index.ts";
import { Cancelled } from "../errors.ts";
import { logger } from "../log.ts";
import { metrics } from "../metrics.ts";
import { collectAudio } from "../pipeline/reply.ts";
import type { ToyStatus, TurnRecord } from "../pipeline/types.ts";
import { AudioStore, toyMp3 } from "./audio-store.ts";
import { EmbeddedBroker, ExternalBroker, firstNonInternalIPv4, urlHost, type Broker } from "./broker.ts";
import { command, event, parseIncoming, RELAYABLE_COMMANDS, toInt, topics } from "./mqtt.ts";
import { resolveRole, RolesFile, type Role } from "./roles.ts";
import { TokenStore, ToySession, type Exchange } from "./sessions.ts";
import { buildMessages, runTurn, type ToyTurnRecord } from "./turn.ts";
import { RecordingAssembler, UdpSpeechServer, type DropReason, type Recording } from "./udp.ts";

const log = logger("toy");

type RouteHandler = (req: Request & { params: Record<string, string> }) => Response | Promise<Response>;

export interface Toy {
  /** For Bun.serve's `routes`: GET /audio/:file serves reply MP3s. */
  routes: Record<string, Record<string, RouteHandler>>;
  toys(): ToyStatus[];
  /** Newest first. */
  recentTurns(limit?: number): TurnRecord[];
  ready(): { ok: boolean; reasons: string[] };
  stop(): Promise<void>;
}

export interface ToyDeps {
  config: LoadedConfig;
  engines: Pick<Engines, "stt" | "llm" | "tts">;
}

/** Starts the toy layer: broker (or broker connection), UDP socket, roles watcher, audio sweep. */
export async function startToy(deps: ToyDeps): Promise<ToyService> {
  const service = new ToyService(deps.config, deps.engines);
  try {
    await service.start();
  } catch (e) {
    await service.stop();
    throw e;
  }
  return service;
}

/** Toys of the external-broker mode count as connected this long after their last message. */
const EXTERNAL_PRESENCE_MS = 10 * 60_000;
/** Commands not acknowledged within this long are forgotten (logged at debug). */
const ACK_WAIT_MS = 60_000;
const KEEP_TURNS = 200;

interface Pending {
  sn: string;
  identifier: string;
  at: number;
  /** Set when the command was relayed from an integration: its ack is mirrored back. */
  relay?: { msgId: number | null };
}

export class ToyService implements Toy {
  readonly routes: Toy["routes"];
  /** Ports actually bound (config may say 0 in tests). */
  mqttPort = 0;
  udpPort = 0;

  private readonly sessions = new Map<string, ToySession>();
  private readonly turns: ToyTurnRecord[] = [];
  private readonly running = new Set<Promise<void>>();
  private readonly pending = new Map<number, Pending>();
  private readonly warnedVoices = new Set<string>();
  private msgId = 0;
  private readonly tokens: TokenStore;
  private readonly roles: RolesFile;
  private readonly store: AudioStore;
  private readonly assembler: RecordingAssembler;
  private readonly udp: UdpSpeechServer;
  private broker?: Broker;
  private housekeeping?: ReturnType<typeof setInterval>;
  private stopped = false;

  constructor(
    private readonly config: LoadedConfig,
    private readonly engines: Pick<Engines, "stt" | "llm" | "tts">,
  ) {
    this.tokens = new TokenStore(join(config.state.dir, "tokens.json"));
    this.roles = new RolesFile(config.toy.roles_file);
    this.store = new AudioStore(join(config.state.dir, "audio"), config.toy.audio_ttl_seconds);
    this.assembler = new RecordingAssembler({
      snOfToken: (token) => this.tokens.snOf(token),
      onStart: (sn) => this.session(sn).turn?.abort(new Cancelled("the toy started a new recording")),
      onRecording: (rec) => this.startTurn(rec),
      onDrop: (reason, sn) => this.onDrop(reason, sn),
    });
    this.udp = new UdpSpeechServer(this.assembler);
    this.routes = {
      "/audio/:file": { GET: (req) => this.store.serve(req.params.file ?? "") },
    };
  }

  async start(): Promise<void> {
    const { config } = this;
    this.tokens.load();
    this.roles.load();
    this.roles.watch();
    this.store.start();
    this.udpPort = await this.udp.start(config.toy.udp_port);
    log.info("listening for toy speech", { udpPort: this.udpPort });
    const handlers = {
      message: (topic: string, payload: Buffer) => this.onMessage(topic, payload),
      toyConnected: (c: { sn: string; localAddress?: string; remoteAddress?: string }) => {
        const s = this.session(c.sn);
        s.connected = true;
        s.lastSeen = Date.now();
        s.localAddress = c.localAddress;
        s.address = c.remoteAddress;
        log.info("toy connected", { sn: c.sn, from: c.remoteAddress, via: c.localAddress });
        this.countConnected();
      },
      toyDisconnected: (sn: string) => {
        const s = this.session(sn);
        s.connected = false;
        log.info("toy disconnected", { sn });
        this.countConnected();
      },
    };
    if (config.mqtt.url) {
      this.broker = new ExternalBroker({ url: config.mqtt.url, username: config.mqtt.username, password: config.mqtt.password }, handlers);
      await this.broker.start();
    } else {
      const embedded = new EmbeddedBroker(
        {
          port: config.mqtt.port,
          serverUsername: config.mqtt.username,
          serverPassword: config.mqtt.password,
          acceptUnknownToys: config.mqtt.accept_unknown_toys,
          knownToys: config.toy.known_toys,
        },
        handlers,
      );
      this.broker = embedded;
      await embedded.start();
      this.mqttPort = embedded.port;
    }
    this.housekeeping = setInterval(() => this.tidy(), 10_000);
  }

  // ---- public surface -------------------------------------------------------------------

  toys(): ToyStatus[] {
    for (const sn of this.tokens.sns()) this.session(sn);
    return [...this.sessions.values()].map((s) => s.status()).sort((a, b) => a.sn.localeCompare(b.sn));
  }

  recentTurns(limit = 50): TurnRecord[] {
    return this.turns.slice(-limit).reverse();
  }

  ready(): { ok: boolean; reasons: string[] } {
    const reasons: string[] = [];
    const broker = this.broker?.health() ?? { ok: false, reason: "MQTT not started" };
    if (!broker.ok) reasons.push(broker.reason!);
    if (!this.udp.listening) reasons.push("toy UDP port is not open");
    return { ok: reasons.length === 0, reasons };
  }

  /** Turns running now. */
  get activeTurns(): number {
    return this.running.size;
  }

  /** The conversation a toy has with its current role (what the next turn sends as history). */
  conversation(sn: string): readonly Exchange[] {
    const s = this.sessions.get(sn);
    return s ? [...s.history()] : [];
  }

  /** Reloads roles.json now (also done on file change and on /sys/config load_roles_config). */
  reloadRoles(): { ok: boolean; error?: string } {
    return this.roles.reload();
  }

  /** roles.json as it is on disk (for the console). */
  readRoles(): string {
    return this.roles.read();
  }

  /** Validates, saves and applies new roles.json text (for the console); a bad text changes nothing. */
  writeRoles(text: string): { ok: true } | { ok: false; error: string } {
    return this.roles.write(text);
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.housekeeping);
    for (const s of this.sessions.values()) s.turn?.abort(new Cancelled("shutting down"));
    await Promise.race([Promise.all(this.running), Bun.sleep(5000)]);
    await this.udp.stop();
    await this.broker?.stop();
    this.roles.close();
    this.store.stop();
    metrics.setToysConnected(0);
  }

  // ---- MQTT ----------------------------------------------------------------------------

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
    if (m.kind === "ack") return this.onAck(m.sn, m.msgId, m.identifier, m.result);
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
      default:
        log.info("toy event not handled", { sn: m.sn, identifier: m.identifier, params: m.params });
    }
  }

  private admitted(sn: string): boolean {
    if (this.config.mqtt.accept_unknown_toys || sn in this.config.toy.known_toys) return true;
    if (this.broker?.kind === "external") log.debug("message from a toy not in [toy] known_toys ignored", { sn });
    return false;
  }

  private async onLogin(s: ToySession, params: Record<string, unknown>) {
    s.turn?.abort(new Cancelled("the toy logged in again"));
    this.setRole(s, toInt(params.role) ?? this.tokens.get(s.sn)?.role ?? s.role);
    const token = this.tokens.tokenFor(s.sn);
    const { host, why } = this.advertisedHost(s);
    this.tokens.update(s.sn, { host, role: s.role });
    this.send(s.sn, "updatetoken", { token });
    this.send(s.sn, "updateconfig", { speechUdpServerHost: host, speechUdpServerPort: this.udpPort });
    log.info("toy logged in: advertised UDP speech server and audio base URL", {
      sn: s.sn,
      role: s.role,
      udp: `${host}:${this.udpPort}`,
      because: why,
      audio: this.audioBase(s),
    });
    await this.playGreeting(s);
  }

  private async onButton(s: ToySession, params: Record<string, unknown>) {
    const key = toInt(params.keyCode) ?? s.role;
    const changed = toInt(params.changed);
    if (changed === 0) {
      this.setRole(s, key);
      s.clearHistory(key);
      this.engines.llm.forgetConversation(s.sn);
      log.info("role button pressed again: conversation cleared", { sn: s.sn, role: key });
      return;
    }
    s.turn?.abort(new Cancelled("the toy switched roles"));
    this.setRole(s, key);
    log.info("role switched", { sn: s.sn, role: key });
    await this.playGreeting(s);
  }

  private setRole(s: ToySession, role: number) {
    if (!Number.isInteger(role) || role < 1) return;
    s.role = role;
    this.tokens.update(s.sn, { role });
  }

  /** updatestartvoice with the current role's start_text. */
  private async playGreeting(s: ToySession) {
    const { key, role } = resolveRole(this.roles.current, s.sn, s.role);
    if (!role.start_text?.trim()) return;
    try {
      const url = await this.speak(s, role, role.start_text, "start");
      if (url) this.send(s.sn, "updatestartvoice", { url });
    } catch (e) {
      metrics.countError("toy_greeting");
      log.error("cannot make the role's greeting", { sn: s.sn, role: key, error: (e as Error).message });
    }
  }

  private onAck(sn: string, msgId: number | null, identifier: string, result: number | null) {
    const p = msgId === null ? undefined : this.pending.get(msgId);
    if (!p) return log.debug("ack for no pending command", { sn, msgId, identifier, result });
    this.pending.delete(msgId!);
    if (p.sn !== sn || (identifier && p.identifier !== identifier)) {
      log.warn("ack does not match the command it names", { sn, msgId, identifier, sentTo: p.sn, sent: p.identifier });
    }
    if (result === 0) log.warn("toy reports a command failed", { sn, msgId, identifier: p.identifier });
    else log.debug("ack", { sn, msgId, identifier: p.identifier, ms: Date.now() - p.at });
    if (p.relay) this.broker?.publish(topics.sysCommandCallAck(sn), { msgId: p.relay.msgId ?? msgId, identifier: p.identifier, result: result ?? 1 });
  }

  /** An integration asks us to send iwantplay / updatecommonconfig to a toy. */
  private async onRelay(sn: string, msgId: number | null, identifier: string, params: Record<string, unknown>) {
    const refuse = (why: string) => {
      log.warn("integration command not relayed", { sn, identifier, why });
      this.broker?.publish(topics.sysCommandCallAck(sn), { msgId, identifier, result: 0 });
    };
    if (!(RELAYABLE_COMMANDS as readonly string[]).includes(identifier)) return refuse(`only ${RELAYABLE_COMMANDS.join(", ")} are relayed`);
    if (identifier === "updatecommonconfig") return this.send(sn, identifier, params, { msgId });
    // iwantplay: a URL wins; else speak the text in the role's voice
    if (typeof params.url === "string" && params.url) return this.send(sn, identifier, { url: params.url }, { msgId });
    if (typeof params.text !== "string" || !params.text.trim()) return refuse('iwantplay needs "url" or "text"');
    const s = this.session(sn);
    const { role } = resolveRole(this.roles.current, sn, toInt(params.role) ?? s.role);
    try {
      const url = await this.speak(s, role, params.text, "play");
      if (!url) return refuse("the text produced no audio");
      this.send(sn, identifier, { url }, { msgId });
    } catch (e) {
      refuse(`cannot synthesize the text: ${(e as Error).message}`);
    }
  }

  private onSysConfig(msgId: number | null, identifier: string, body: Record<string, unknown>) {
    let result = 0;
    if (identifier === "load_roles_config") result = this.roles.reload().ok ? 1 : 0;
    else log.warn("/sys/config: unknown identifier", { identifier });
    this.broker?.publish(topics.sysConfigAck, { ...body, msgId, identifier, result });
  }

  /** The server's own msgId counter (toys echo it in their acks). */
  private nextMsgId(): number {
    this.msgId = this.msgId >= 0x7fffffff ? 1 : this.msgId + 1;
    return this.msgId;
  }

  private send(sn: string, identifier: string, params: Record<string, unknown>, relay?: Pending["relay"]) {
    const msgId = this.nextMsgId();
    this.pending.set(msgId, { sn, identifier, at: Date.now(), relay });
    this.broker?.publish(topics.commandCall(sn), command(msgId, identifier, params));
    log.debug("command", { sn, msgId, identifier });
  }

  private mirror(sn: string, identifier: string, params: Record<string, unknown>) {
    this.broker?.publish(topics.sysEventPost(sn), event(this.nextMsgId(), identifier, params));
  }

  // ---- addresses ------------------------------------------------------------------------

  /** The host a toy can reach us at, and why that one. */
  private advertisedHost(s: ToySession): { host: string; why: string } {
    if (this.config.toy.advertise_host) return { host: this.config.toy.advertise_host, why: "[toy] advertise_host" };
    if (s.localAddress && s.localAddress !== "0.0.0.0" && s.localAddress !== "::") {
      return { host: s.localAddress, why: "the local address of the toy's MQTT connection" };
    }
    const persisted = this.broker?.kind === "embedded" ? this.tokens.get(s.sn)?.host : undefined;
    if (persisted) return { host: persisted, why: "the address last advertised to this toy" };
    const ip = firstNonInternalIPv4();
    if (ip) return { host: ip, why: "the first non-internal IPv4 address of this machine (set [toy] advertise_host if toys cannot reach it)" };
    return { host: "127.0.0.1", why: "no network interface found (set [toy] advertise_host)" };
  }

  private audioBase(s: ToySession): string {
    const pub = this.config.http.public_url;
    if (pub) return pub.replace(/\/+$/, "");
    return `http://${urlHost(this.advertisedHost(s).host)}:${this.config.http.port}`;
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

  private startTurn(rec: Recording) {
    const s = this.session(rec.sn);
    s.turn?.abort(new Cancelled("superseded by a newer recording"));
    const ac = new AbortController();
    s.turn = ac;
    const { key, role } = resolveRole(this.roles.current, s.sn, s.role);
    const limitS = this.config.toy.reply_timeout_seconds;
    const timer = setTimeout(() => ac.abort(new Cancelled(`no reply audio within reply_timeout_seconds (${limitS} s) of the end of speech`)), Math.max(0, rec.endedAt + limitS * 1000 - Date.now()));
    const budget = Math.floor(this.config.llm.context_size / this.config.llm.sequences) - (role.max_tokens ?? this.config.llm.max_tokens);
    const job = runTurn({
      engines: this.engines,
      store: this.store,
      sn: s.sn,
      roleKey: key,
      role,
      voice: this.voiceFor(role),
      recording: rec,
      separators: this.config.toy.sentence_separators,
      signal: ac.signal,
      messages: (transcript) =>
        buildMessages({
          role,
          systemPrompt: this.config.toy.system_prompt,
          history: s.history(Number(key)),
          transcript,
          countTokens: (t) => this.engines.llm.countTokens(t),
          budgetTokens: budget,
        }).messages,
      send: (identifier, params) => this.send(s.sn, identifier, params),
      mirror: this.config.toy.integration_mirror ? (identifier, params) => this.mirror(s.sn, identifier, params) : undefined,
      url: (name) => `${this.audioBase(s)}/audio/${name}`,
      onFirstAudio: () => clearTimeout(timer),
    }).then((record) => {
      clearTimeout(timer);
      ac.abort(); // the turn is over: stop anything still generating
      if (s.turn === ac) s.turn = undefined;
      this.turns.push(record);
      if (this.turns.length > KEEP_TURNS) this.turns.splice(0, this.turns.length - KEEP_TURNS);
      if (!record.error && record.reply) s.remember(Number(key), { user: record.transcript, assistant: record.reply }, role.max_message_count ?? 0);
    });
    const tracked = job.finally(() => this.running.delete(tracked));
    this.running.add(tracked);
  }

  /** A text spoken in a role's voice, stored as one MP3; its URL. */
  private async speak(s: ToySession, role: Role, text: string, prefix: "start" | "play"): Promise<string | undefined> {
    const audio = await collectAudio(this.engines.tts.synthesize(text, { voice: this.voiceFor(role), speed: role.speed }));
    if (!audio) return undefined;
    const name = await this.store.save(prefix, await toyMp3(audio));
    return `${this.audioBase(s)}/audio/${name}`;
  }

  /** The role's local voice; a name that is not installed (e.g. a cloud voice) falls back by language. */
  private voiceFor(role: Role): string {
    try {
      return this.engines.tts.resolveVoice(role.voice_name ?? null, role.language ?? undefined);
    } catch (e) {
      if (!this.warnedVoices.has(role.voice_name!)) {
        this.warnedVoices.add(role.voice_name!);
        log.warn("roles file names a voice that is not installed; using the role's language or the default voice", { voice_name: role.voice_name, error: (e as Error).message });
      }
      return this.engines.tts.resolveVoice(null, role.language ?? undefined);
    }
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
    for (const [id, p] of this.pending) {
      if (now - p.at < ACK_WAIT_MS) continue;
      this.pending.delete(id);
      log.debug("no ack from the toy", { sn: p.sn, msgId: id, identifier: p.identifier });
    }
    if (this.broker?.kind === "external") {
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
}
