// A FoloToy toy in software: logs in over MQTT exactly like the firmware, streams WAV files as
// the toy's UDP speech, collects the reply (audioplay / audioplay_cmd), downloads and decodes
// every MP3. Used by scripts/toy-sim.ts, the tests and the bench.
import dgram from "node:dgram";
import mqtt, { type MqttClient } from "mqtt";
import { decodeAudio } from "../../src/audio/decode.ts";
import { floatToS16le } from "../../src/audio/pcm.ts";
import { resample } from "../../src/audio/resample.ts";
import { decodeWav } from "../../src/audio/wav.ts";
import { event as envelope, toyAck, topics } from "../../src/devices/folotoy/mqtt.ts";
import { encodeDatagram, FRAME_AUDIO, FRAME_MARKER, MAX_PAYLOAD, TOY_SAMPLE_RATE } from "../../src/devices/folotoy/udp.ts";

export interface ReceivedCommand {
  msgId: number;
  identifier: string;
  inputParams: Record<string, any>;
  /** performance.now() when it arrived. */
  at: number;
}

export interface SimMp3 {
  order: number;
  url: string;
  bytes: number;
  /** Decoded duration in seconds (0 if the download or decode failed). */
  seconds: number;
  sampleRate: number;
  error?: string;
}

export interface SimTurn {
  file: string;
  recordingId: number;
  /** From the integration mirror's recording_transcribed, when Hearth publishes it. */
  transcript?: string;
  /** Reply sentences from the mirror's voice_generated events, when published. */
  replyTexts: string[];
  audioplays: { order: number; url: string }[];
  total?: number;
  mp3s: SimMp3[];
  /** Milliseconds after the end marker was sent. */
  timings: { firstAudioplayMs?: number; firstMp3ByteMs?: number; lastAudioplayMs?: number; audioplayCmdMs?: number; speechMs: number };
  ok: boolean;
  error?: string;
}

export interface SimResult {
  sn: string;
  token: string;
  udp: { host: string; port: number };
  greetingUrl?: string;
  turns: SimTurn[];
  ok: boolean;
}

export interface SimOptions {
  /** mqtt://host:port of the broker the toy is pointed at. */
  mqtt: string;
  sn: string;
  key?: string;
  /** Role button reported at login. */
  role?: number;
  /** WAV files to speak, one turn each. */
  files: string[];
  /** 1 = real time (16 ms per 1024-byte frame, like the toy); 0 = as fast as possible. */
  pace?: number;
  /** How long to wait for audioplay_cmd after the end of speech. */
  replyTimeoutMs?: number;
  /** Skip downloading and decoding the MP3s. */
  noDownload?: boolean;
  log?: (line: string) => void;
}

/** Logs in, speaks each file, collects each reply; the whole run as one result. */
export async function simulateToy(opts: SimOptions): Promise<SimResult> {
  const toy = new SimToy({ mqtt: opts.mqtt, sn: opts.sn, key: opts.key, log: opts.log });
  try {
    await toy.connect();
    await toy.login(opts.role ?? 1);
    const turns: SimTurn[] = [];
    for (const file of opts.files) {
      turns.push(await toy.say(file, { pace: opts.pace, replyTimeoutMs: opts.replyTimeoutMs, noDownload: opts.noDownload }));
    }
    return { sn: opts.sn, token: toy.token!, udp: toy.udp!, greetingUrl: toy.greetingUrl, turns, ok: turns.every((t) => t.ok) };
  } finally {
    await toy.close();
  }
}

/** One simulated toy, for step-by-step use in tests. */
export class SimToy {
  client?: MqttClient;
  token?: string;
  udp?: { host: string; port: number };
  greetingUrl?: string;
  /** Every command received, in order. */
  readonly commands: ReceivedCommand[] = [];
  /** Integration-mirror events seen on /sys/folotoy/{sn}/thing/event/post. */
  readonly mirrored: { identifier: string; outParams: Record<string, any>; at: number }[] = [];
  private msgId = 0;
  private recordingId = Math.floor(Math.random() * 1000) + 1;
  private socket?: dgram.Socket;
  private waiters: (() => void)[] = [];
  private readonly log: (line: string) => void;

  constructor(private readonly opts: { mqtt: string; sn: string; key?: string; log?: (line: string) => void; ack?: boolean }) {
    this.log = opts.log ?? (() => {});
  }

  /** Connects as the firmware does: client id = username = SN, password = key; subscribes to its command topic. */
  async connect(): Promise<void> {
    const { sn } = this.opts;
    const client = mqtt.connect(this.opts.mqtt, {
      clientId: sn,
      username: sn,
      password: this.opts.key ?? "",
      clean: true,
      reconnectPeriod: 1000,
      connectTimeout: 5000,
    });
    this.client = client;
    await new Promise<void>((resolve, reject) => {
      client.once("connect", () => resolve());
      client.once("error", (e) => reject(new Error(`MQTT connect to ${this.opts.mqtt} as ${sn} failed: ${e.message}`)));
    });
    client.on("message", (topic, payload) => this.onMessage(topic, payload));
    await client.subscribeAsync(topics.commandCall(sn), { qos: 1 });
    // transcripts and reply texts, when the server mirrors them (a broker ACL may refuse this: then there are none)
    await client.subscribeAsync(topics.sysEventPost(sn), { qos: 0 }).catch(() => {});
    this.log(`connected to ${this.opts.mqtt} as ${sn}`);
  }

  private onMessage(topic: string, payload: Buffer) {
    let body: any;
    try {
      body = JSON.parse(payload.toString("utf8"));
    } catch {
      return this.log(`non-JSON message on ${topic}`);
    }
    if (topic === topics.sysEventPost(this.opts.sn)) {
      this.mirrored.push({ identifier: body.identifier, outParams: body.inputParams ?? body.outParams ?? {}, at: performance.now() });
    } else {
      const cmd: ReceivedCommand = { msgId: body.msgId, identifier: body.identifier, inputParams: body.inputParams ?? {}, at: performance.now() };
      this.commands.push(cmd);
      if (this.opts.ack !== false) this.publish(topics.commandCallAck(this.opts.sn), toyAck(cmd.msgId, cmd.identifier, 1));
      if (cmd.identifier === "updatetoken") this.token = cmd.inputParams.token;
      if (cmd.identifier === "updateconfig") this.udp = { host: cmd.inputParams.speechUdpServerHost, port: cmd.inputParams.speechUdpServerPort };
      if (cmd.identifier === "updatestartvoice") this.greetingUrl = cmd.inputParams.url;
      this.log(`<- ${cmd.identifier} ${JSON.stringify(cmd.inputParams)}`);
    }
    for (const w of this.waiters.splice(0)) w();
  }

  publish(topic: string, body: unknown) {
    this.client!.publish(topic, JSON.stringify(body), { qos: 1 });
  }

  /** Sends a toy event (login, press_small_btn, ...) on its event/post topic. */
  event(identifier: string, outParams: Record<string, unknown>) {
    this.publish(topics.eventPost(this.opts.sn), envelope(++this.msgId, identifier, outParams));
  }

  /** Sends a data report (data_config, real_time_data). */
  data(identifier: string, outParams: Record<string, unknown>) {
    this.publish(topics.dataPost(this.opts.sn), envelope(++this.msgId, identifier, outParams));
  }

  /** login, then waits for updatetoken and updateconfig. */
  async login(role = 1, timeoutMs = 10_000): Promise<void> {
    const from = this.commands.length;
    this.event("login", { role });
    await this.waitFor((c) => c.identifier === "updateconfig", timeoutMs, from);
    if (!this.token) await this.waitFor((c) => c.identifier === "updatetoken", timeoutMs, from);
    this.log(`logged in: token ${this.token}, UDP ${this.udp!.host}:${this.udp!.port}`);
  }

  /** Waits for a command matching `pred` received at index >= from. */
  async waitFor(pred: (c: ReceivedCommand) => boolean, timeoutMs = 10_000, from = 0): Promise<ReceivedCommand> {
    const end = performance.now() + timeoutMs;
    for (;;) {
      const hit = this.commands.slice(from).find(pred);
      if (hit) return hit;
      const left = end - performance.now();
      if (left <= 0) throw new Error(`timed out after ${timeoutMs} ms waiting for a command (got: ${this.commands.slice(from).map((c) => c.identifier).join(", ") || "none"})`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** The toy's PCM for a WAV file: mono s16le at 32 kHz. */
  static async pcmOf(file: string): Promise<Uint8Array> {
    const wav = decodeWav(new Uint8Array(await Bun.file(file).arrayBuffer()));
    const samples = wav.sampleRate === TOY_SAMPLE_RATE ? wav.samples : resample(wav.samples, wav.sampleRate, TOY_SAMPLE_RATE);
    return floatToS16le(samples);
  }

  /** Sends one datagram to the advertised UDP server. */
  async sendDatagram(bytes: Uint8Array): Promise<void> {
    if (!this.udp) throw new Error("no UDP server advertised yet (login first)");
    this.socket ??= dgram.createSocket("udp4");
    const { host, port } = this.udp;
    await new Promise<void>((resolve, reject) => this.socket!.send(bytes, port, host, (e) => (e ? reject(e) : resolve())));
  }

  /**
   * Streams PCM as one recording: start marker, 1024-byte frames at `pace` x real time, end
   * marker (unless `dropEndMarker`). Returns the recordingId and performance.now() at the end of speech.
   */
  async stream(pcm: Uint8Array, opts: { pace?: number; dropEndMarker?: boolean; recordingId?: number; token?: string } = {}): Promise<{ recordingId: number; endAt: number }> {
    const token = opts.token ?? this.token;
    if (!token) throw new Error("no token yet (login first)");
    const recordingId = opts.recordingId ?? (this.recordingId = (this.recordingId % 65535) + 1);
    const pace = opts.pace ?? 1;
    const frameMs = (MAX_PAYLOAD / 2 / TOY_SAMPLE_RATE) * 1000;
    await this.sendDatagram(encodeDatagram(token, recordingId, FRAME_MARKER));
    const start = performance.now();
    for (let i = 0, at = 0; at < pcm.length; i++, at += MAX_PAYLOAD) {
      const frame = pcm.subarray(at, Math.min(at + MAX_PAYLOAD, pcm.length & ~1));
      if (frame.length) await this.sendDatagram(encodeDatagram(token, recordingId, FRAME_AUDIO, frame));
      if (pace > 0) {
        const due = start + ((i + 1) * frameMs) / pace;
        const wait = due - performance.now();
        if (wait > 1) await Bun.sleep(wait);
      }
    }
    if (!opts.dropEndMarker) await this.sendDatagram(encodeDatagram(token, recordingId, FRAME_MARKER));
    return { recordingId, endAt: performance.now() };
  }

  /** Speaks a WAV file and collects the whole reply. */
  async say(file: string, opts: { pace?: number; replyTimeoutMs?: number; noDownload?: boolean } = {}): Promise<SimTurn> {
    const pcm = await SimToy.pcmOf(file);
    const from = this.commands.length;
    const mirrorFrom = this.mirrored.length;
    const { recordingId, endAt } = await this.stream(pcm, { pace: opts.pace });
    return this.collect({ file, recordingId, endAt, from, mirrorFrom, speechSeconds: pcm.length / 2 / TOY_SAMPLE_RATE }, opts);
  }

  /**
   * Waits for audioplay_cmd of `recordingId` among the commands received from index `from` on,
   * downloading each MP3 as it is announced. `endAt` is performance.now() at the end of speech.
   */
  async collect(
    rec: { file: string; recordingId: number; endAt: number; from: number; mirrorFrom?: number; speechSeconds?: number },
    opts: { replyTimeoutMs?: number; noDownload?: boolean } = {},
  ): Promise<SimTurn> {
    const { file, recordingId, endAt, from } = rec;
    const turn: SimTurn = { file, recordingId, replyTexts: [], audioplays: [], mp3s: [], timings: { speechMs: Math.round((rec.speechSeconds ?? 0) * 1000) }, ok: false };
    const ms = (t: number) => Math.round(t - endAt);
    const downloads: Promise<SimMp3>[] = [];
    const seen = new Set<number>();
    const mine = (c: ReceivedCommand) => Number(c.inputParams.recordingId) === recordingId;
    try {
      let cmd: ReceivedCommand | undefined;
      const deadline = performance.now() + (opts.replyTimeoutMs ?? 60_000);
      while (!cmd) {
        const left = deadline - performance.now();
        const next = await this.waitFor((c) => mine(c) && (c.identifier === "audioplay_cmd" || (c.identifier === "audioplay" && !seen.has(c.msgId))), Math.max(1, left), from).catch((e) => {
          throw new Error(`no complete reply within ${opts.replyTimeoutMs ?? 60_000} ms: ${(e as Error).message}`);
        });
        if (next.identifier === "audioplay_cmd") {
          cmd = next;
          break;
        }
        seen.add(next.msgId);
        const { order, url } = next.inputParams as { order: number; url: string };
        turn.audioplays.push({ order, url });
        if (turn.audioplays.length === 1) turn.timings.firstAudioplayMs = ms(next.at);
        turn.timings.lastAudioplayMs = ms(next.at);
        if (!opts.noDownload) {
          const first = turn.audioplays.length === 1;
          downloads.push(download(order, url, (t) => first && (turn.timings.firstMp3ByteMs = ms(t))));
        }
      }
      turn.total = Number(cmd.inputParams.total);
      turn.timings.audioplayCmdMs = ms(cmd.at);
      turn.mp3s = await Promise.all(downloads);
      const problems: string[] = [];
      const orders = turn.audioplays.map((a) => a.order);
      if (orders.some((o, i) => o !== i + 1)) problems.push(`audioplay orders ${orders.join(",")} are not 1..N in order`);
      if (turn.total !== turn.audioplays.length) problems.push(`audioplay_cmd total ${turn.total} but ${turn.audioplays.length} audioplay`);
      for (const m of turn.mp3s) if (m.error) problems.push(`MP3 ${m.order}: ${m.error}`);
      turn.ok = problems.length === 0;
      if (problems.length) turn.error = problems.join("; ");
    } catch (e) {
      turn.error = (e as Error).message;
    }
    for (const m of this.mirrored.slice(rec.mirrorFrom ?? 0)) {
      if (Number(m.outParams.recordingId) !== recordingId) continue;
      if (m.identifier === "recording_transcribed") turn.transcript = m.outParams.recordingText;
      if (m.identifier === "voice_generated") turn.replyTexts.push(m.outParams.voiceText);
    }
    this.log(`turn ${recordingId}: ${turn.ok ? "ok" : `FAILED: ${turn.error}`}`);
    return turn;
  }

  async close(): Promise<void> {
    this.socket?.close();
    this.socket = undefined;
    const client = this.client;
    this.client = undefined;
    if (client) await client.endAsync(true).catch(() => {});
  }
}

/** Downloads and decodes one MP3; reports the time its first byte arrived. */
async function download(order: number, url: string, onFirstByte: (at: number) => void): Promise<SimMp3> {
  const result: SimMp3 = { order, url, bytes: 0, seconds: 0, sampleRate: 0 };
  try {
    const res = await fetch(url);
    if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
    if (!/audio\/mpeg/.test(res.headers.get("content-type") ?? "")) throw new Error(`content-type ${res.headers.get("content-type")}`);
    const parts: Uint8Array[] = [];
    const reader = res.body.getReader();
    for (let r = await reader.read(); !r.done; r = await reader.read()) {
      if (parts.length === 0) onFirstByte(performance.now());
      parts.push(r.value);
    }
    const bytes = Buffer.concat(parts);
    result.bytes = bytes.length;
    const declared = Number(res.headers.get("content-length"));
    if (declared && declared !== bytes.length) throw new Error(`Content-Length ${declared} but ${bytes.length} bytes`);
    const audio = await decodeAudio(new Uint8Array(bytes));
    if (audio.format !== "mp3") throw new Error(`not an MP3 (${audio.format})`);
    result.seconds = +(audio.samples.length / audio.sampleRate).toFixed(3);
    result.sampleRate = audio.sampleRate;
  } catch (e) {
    result.error = (e as Error).message;
  }
  return result;
}
