// STT: real-time factor of POST /v1/audio/transcriptions (multipart over real HTTP) against the
// same recognizer called directly on the same audio, plus where the difference goes.
import { decodeAudio } from "../src/audio/decode.ts";
import { verdict, type Section } from "./report.ts";
import { floorTranscribe } from "./floor.ts";
import type { BenchContext, Utterance } from "./setup.ts";
import { now, pairedDiffs, pairedRatios, round, stat } from "./stats.ts";
import { wordErrorRate } from "../test/support/hearth.ts";

async function postTranscription(url: string, u: Utterance): Promise<{ text: string; ms: number }> {
  const form = new FormData();
  form.append("file", new Blob([u.wav as Uint8Array<ArrayBuffer>], { type: "audio/wav" }), u.name);
  form.append("model", "whisper-1");
  const t0 = now();
  const res = await fetch(`${url}/v1/audio/transcriptions`, { method: "POST", body: form });
  const body = (await res.json()) as { text?: string; error?: { message: string } };
  const ms = now() - t0;
  if (!res.ok) throw new Error(`transcription failed: HTTP ${res.status} ${body.error?.message ?? ""}`);
  return { text: String(body.text ?? ""), ms };
}


export async function benchStt(ctx: BenchContext): Promise<Omit<Section, "seconds">> {
  const { hearth, recognizer, utterances } = ctx;
  const totalSeconds = utterances.reduce((n, u) => n + u.seconds, 0);
  // warm-up: the first decode of each path pays for allocations
  await postTranscription(hearth.url, utterances[0]!);
  await floorTranscribe(recognizer, utterances[0]!.samples);

  const serverText = new Map<string, string>();
  const floorText = new Map<string, string>();
  const perFile: Record<string, { server: number[]; floor: number[] }> = {};
  /** Rounds of every file, each server-then-floor; RTF per round. */
  const rounds = async (n: number, label: string) => {
    const serverRtf: number[] = [];
    const floorRtf: number[] = [];
    for (let r = 0; r < n; r++) {
      let s = 0;
      let f = 0;
      for (const u of utterances) {
        const a = await postTranscription(hearth.url, u);
        const b = await floorTranscribe(recognizer, u.samples);
        s += a.ms;
        f += b.ms;
        if (label === "main") {
          serverText.set(u.name, a.text);
          floorText.set(u.name, b.text);
          (perFile[u.name] ??= { server: [], floor: [] }).server.push(round(a.ms));
          perFile[u.name]!.floor.push(round(b.ms));
        }
      }
      serverRtf.push(s / 1000 / totalSeconds);
      floorRtf.push(f / 1000 / totalSeconds);
      ctx.log(`stt ${label} round ${r + 1}/${n}: server RTF ${(s / 1000 / totalSeconds).toFixed(3)}, floor ${(f / 1000 / totalSeconds).toFixed(3)}`);
    }
    return { serverRtf, floorRtf };
  };
  const { serverRtf, floorRtf } = await rounds(ctx.runs, "main");
  const ratio = stat(pairedRatios(serverRtf, floorRtf));
  const wer = (texts: Map<string, string>) => utterances.reduce((n, u) => n + wordErrorRate(u.reference, texts.get(u.name) ?? ""), 0) / utterances.length;
  const sameText = utterances.filter((u) => serverText.get(u.name) === floorText.get(u.name)).length;

  // Where the server's extra time goes: each stage of the request path, timed alone, per file.
  const breakdown = await profileStt(ctx);

  const rows: Section["rows"] = [
    {
      area: "STT",
      metric: `RTF, ${utterances.length} files, ${totalSeconds.toFixed(1)} s of speech`,
      server: stat(serverRtf),
      floor: stat(floorRtf),
      ratio,
      delta: stat(pairedDiffs(serverRtf, floorRtf).map((d) => (d * totalSeconds * 1000) / utterances.length)),
      deltaUnit: "ms/file",
      target: "ratio <= 1.10",
      verdict: verdict(ratio.median <= 1.1),
    },
  ];
  const notes = [
    `Server: POST /v1/audio/transcriptions (multipart WAV, real HTTP to 127.0.0.1) per file, wall time from request to parsed JSON. Floor: sherpa-onnx OfflineRecognizer built from the profile's files with [stt] threads=${ctx.config.stt.threads}, createStream + acceptWaveform + decodeAsync on the same 16 kHz samples. RTF = Σ time / Σ audio seconds per round; ${ctx.runs} rounds, each file server-then-floor.`,
    `Accuracy check: WER server ${wer(serverText).toFixed(3)}, floor ${wer(floorText).toFixed(3)}; identical transcripts for ${sameText}/${utterances.length} files.${ctx.syntheticSpeech ? " (Speech synthesized with the profile's own voice: no speech folder was found.)" : ""}`,
    `Per-file medians (ms): ${Object.entries(breakdown.perStage)
      .map(([k, v]) => `${k} ${v}`)
      .join(", ")}.`,
    breakdown.explanation,
  ];
  return { name: "STT", rows, notes, details: { serverRtf, floorRtf, perFile, wer: { server: wer(serverText), floor: wer(floorText) }, breakdown } };
}

/**
 * Times each stage of the server path alone, per file: HTTP round trip of an empty request, WAV
 * parsing, the engine's VAD pass (whole clip, and "first speech only" as stt.ts calls it for clips
 * that fit the window), the same check made after every window, the engine's whole
 * transcribe(), and the bare decode.
 */
async function profileStt(ctx: BenchContext) {
  const { hearth, recognizer, utterances } = ctx;
  const engines = hearth.engines;
  const stages: Record<string, number[]> = { http_empty: [], wav_parse: [], vad_whole_clip: [], vad_first_only: [], engine_transcribe: [], decode_floor: [] };
  for (let r = 0; r < 2; r++) {
    for (const u of utterances) {
      let t = now();
      await (await fetch(`${hearth.url}/health`)).arrayBuffer();
      stages.http_empty!.push(now() - t);
      t = now();
      await decodeAudio(u.wav, { filename: u.name, contentType: "audio/wav" });
      stages.wav_parse!.push(now() - t);
      t = now();
      await (engines.vad as any).segments(u.samples);
      stages.vad_whole_clip!.push(now() - t);
      t = now();
      await (engines.vad as any).segments(u.samples, { firstOnly: true });
      stages.vad_first_only!.push(now() - t);
      t = now();
      await engines.stt.transcribe(u.samples, 16000);
      stages.engine_transcribe!.push(now() - t);
      stages.decode_floor!.push((await floorTranscribe(recognizer, u.samples)).ms);
    }
  }
  const perStage = Object.fromEntries(Object.entries(stages).map(([k, v]) => [k, round(stat(v).median, 1)]));
  const extra = perStage.engine_transcribe! - perStage.decode_floor!;
  const explanation =
    `Where the extra time goes (per file, medians): the engine's transcribe() costs ${extra.toFixed(1)} ms more than the bare decode. Its VAD pass ("first speech only", as stt.ts asks for clips that fit the window) costs ${perStage.vad_first_only} ms (the whole clip: ${perStage.vad_whole_clip} ms). ` +
    `HTTP round trip of an empty request ${perStage.http_empty} ms; WAV parsing ${perStage.wav_parse} ms.`;
  return { perStage, explanation };
}
