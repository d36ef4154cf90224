// The official openai client against a real Hearth on the fixture models: only the base URL changes.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { MPEGDecoder } from "mpg123-decoder";
import OpenAI, { toFile } from "openai";
import sherpa from "sherpa-onnx-node";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decodeWav, encodeWav } from "../../../src/audio/wav.ts";
import { collectAudio } from "../../../src/pipeline/speak.ts";
import type { Hearth } from "../../../src/app.ts";
import { AUDIO, readAudioFile, startTestHearth, transcripts, wordErrorRate } from "../../support/hearth.ts";
import { concatSamples } from "../../../src/audio/bytes.ts";
import { floatToS16le, s16leToFloat } from "../../../src/audio/pcm.ts";
import type { LlmReservation } from "../../../src/engines/types.ts";
import { Busy } from "../../../src/errors.ts";
import { resample, resampledLength } from "../../../src/audio/resample.ts";

const EXACT = "Hello there. I am a little rabbit! Pi is 3.14 today.";
const GRAMMAR = `root ::= "${EXACT}"`;
// llama.cpp-style extension field: a GBNF grammar that pins the random test model's output.
const withGrammar = { grammar: GRAMMAR } as {};

let hearth: Hearth;
let client: OpenAI;

beforeAll(async () => {
  hearth = await startTestHearth();
  client = new OpenAI({ baseURL: `${hearth.url}/v1`, apiKey: "unused", maxRetries: 0 });
}, 120_000);

afterAll(async () => {
  await hearth?.stop();
});

async function decodeMp3(bytes: Uint8Array) {
  const decoder = new MPEGDecoder();
  await decoder.ready;
  const out = decoder.decode(bytes);
  decoder.free();
  return { samples: out.channelData[0]!, sampleRate: out.sampleRate, errors: out.errors.length };
}

describe("transcriptions", () => {
  test("transcribes every test utterance no worse than the model called directly", async () => {
    const expected = await transcripts();
    const p = hearth.engines.profile.stt;
    // The floor: the same recognizer, with the same files, called directly on each whole file.
    const direct = new sherpa.OfflineRecognizer({
      featConfig: { sampleRate: 16000, featureDim: 80 },
      modelConfig: { whisper: { encoder: p.files.encoder, decoder: p.files.decoder, language: "en", task: "transcribe" }, tokens: p.files.tokens, numThreads: 2, provider: "cpu", debug: 0 },
    });
    let serverErrors = 0;
    let directErrors = 0;
    for (const [name, reference] of expected) {
      const bytes = await readAudioFile(name);
      const result = await client.audio.transcriptions.create({ file: await toFile(bytes, name, { type: "audio/wav" }), model: "whisper-1" });
      const wave = decodeWav(bytes);
      const stream = direct.createStream();
      stream.acceptWaveform({ sampleRate: wave.sampleRate, samples: wave.samples });
      await direct.decodeAsync(stream);
      serverErrors += wordErrorRate(reference, result.text);
      directErrors += wordErrorRate(reference, direct.getResult(stream).text);
    }
    const serverWer = serverErrors / expected.size;
    const directWer = directErrors / expected.size;
    console.log(`WER server=${serverWer.toFixed(3)} direct=${directWer.toFixed(3)}`);
    expect(serverWer).toBeLessThanOrEqual(directWer + 1e-9);
    expect(serverWer).toBeLessThan(0.3);
  }, 120_000);

  test("verbose_json has segments and words; srt, vtt and text formats", async () => {
    const file = await toFile(await readAudioFile("utt03.wav"), "utt03.wav");
    const verbose = await client.audio.transcriptions.create({ file, model: "whisper-1", response_format: "verbose_json", timestamp_granularities: ["segment", "word"] });
    expect(verbose.language).toBe("english");
    expect(verbose.duration).toBeGreaterThan(1);
    expect(verbose.segments!.length).toBeGreaterThan(0);
    expect(verbose.words!.map((w) => w.word.toLowerCase())).toContain("timer");
    const words = verbose.words!;
    for (let i = 1; i < words.length; i++) expect(words[i]!.start).toBeGreaterThanOrEqual(words[i - 1]!.end - 1e-6);

    const srt = await client.audio.transcriptions.create({ file: await toFile(await readAudioFile("utt03.wav"), "a.wav"), model: "whisper-1", response_format: "srt" });
    expect(String(srt)).toMatch(/^1\n00:00:00,\d{3} --> 00:00:0\d,\d{3}\n.*timer/i);
    const vtt = await client.audio.transcriptions.create({ file: await toFile(await readAudioFile("utt03.wav"), "a.wav"), model: "whisper-1", response_format: "vtt" });
    expect(String(vtt)).toMatch(/^WEBVTT\n\n00:00:00\.\d{3} --> /);
    const text = await client.audio.transcriptions.create({ file: await toFile(await readAudioFile("utt03.wav"), "a.wav"), model: "whisper-1", response_format: "text" });
    expect(String(text).toLowerCase()).toMatch(/timer for (10|ten) minutes/);
  }, 60_000);

  test("audio longer than the model's 30 s window is cut at pauses, not truncated", async () => {
    const expected = [...(await transcripts()).entries()];
    const pause = new Float32Array(16000); // 1 s
    const parts: Float32Array[] = [];
    for (let round = 0; round < 2; round++) for (const [name] of expected) parts.push(decodeWav(await readAudioFile(name)).samples, pause);
    const long = concatSamples(parts);
    expect(long.length / 16000).toBeGreaterThan(45);
    const result = await client.audio.transcriptions.create({ file: await toFile(encodeWav(long, 16000), "long.wav"), model: "whisper-1", response_format: "verbose_json", timestamp_granularities: ["segment"] });
    const reference = [...expected, ...expected].map(([, text]) => text).join(" ");
    expect(wordErrorRate(reference, result.text)).toBeLessThan(0.3);
    expect(result.text.toLowerCase().match(/counting game/g)?.length).toBe(2); // the 7th utterance, in both rounds
    expect(result.segments!.length).toBeGreaterThan(1);
    expect(result.segments!.at(-1)!.end).toBeGreaterThan(long.length / 16000 - 3); // reaches the end of the audio
  }, 120_000);

  test.skipIf(!Bun.which("ffmpeg"))("phone recordings: an iPhone-style m4a (AAC) and a telephone mu-law WAV transcribe like the original", async () => {
    const dir = mkdtempSync(join(tmpdir(), "hearth-phone-"));
    try {
      const source = join(AUDIO, "utt01.wav");
      for (const [name, args] of [["memo.m4a", ["-c:a", "aac", "-f", "ipod"]], ["call.wav", ["-c:a", "pcm_mulaw", "-ar", "8000"]]] as const) {
        const out = join(dir, name);
        const made = Bun.spawnSync(["ffmpeg", "-loglevel", "error", "-y", "-i", source, ...args, out]);
        expect(made.exitCode).toBe(0);
        const result = await client.audio.transcriptions.create({ file: await toFile(readFileSync(out), name), model: "whisper-1" });
        // 8 kHz telephone audio costs Whisper tiny a word or so; the words must still be there
        expect(wordErrorRate((await transcripts()).get("utt01.wav")!, result.text)).toBeLessThanOrEqual(0.2);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("translations: an English-only model says clearly that it cannot translate (400), naming the model", async () => {
    const error: any = await client.audio.translations.create({ file: await toFile(await readAudioFile("utt01.wav"), "utt01.wav"), model: "whisper-1" }).catch((e) => e);
    expect(error.status).toBe(400);
    expect(error.error).toMatchObject({ code: "translation_unsupported", param: "model" });
    expect(error.error.message).toContain(hearth.engines.stt.id);
    expect(error.error.message).toContain("multilingual Whisper");
  });

  test("silence gives an empty transcript instead of an invented one", async () => {
    const result = await client.audio.transcriptions.create({ file: await toFile(await readAudioFile("silence-2s.wav"), "s.wav"), model: "whisper-1" });
    expect(result.text).toBe("");
  }, 30_000);

  test("stream=true sends transcript.text.delta events then transcript.text.done", async () => {
    const stream = await client.audio.transcriptions.create({ file: await toFile(await readAudioFile("utt02.wav"), "u.wav"), model: "whisper-1", stream: true });
    const types: string[] = [];
    let done = "";
    for await (const event of stream) {
      types.push(event.type);
      if (event.type === "transcript.text.done") done = event.text;
    }
    expect(types.at(-1)).toBe("transcript.text.done");
    expect(types).toContain("transcript.text.delta");
    expect(done.toLowerCase()).toContain("weather");
  }, 30_000);
});

describe("chat completions", () => {
  test("streams the exact text a grammar pins, as chunks, ending with finish_reason and usage", async () => {
    const stream = await client.chat.completions.create({
      model: "gpt-4o-mini",
      messages: [{ role: "user", content: "Say hello" }],
      stream: true,
      stream_options: { include_usage: true },
      ...withGrammar,
    });
    let text = "";
    let contentChunks = 0;
    let finish: string | null = null;
    let usage: any;
    for await (const chunk of stream) {
      if (chunk.usage) usage = chunk.usage;
      const choice = chunk.choices[0];
      if (!choice) continue;
      if (choice.delta.content) {
        text += choice.delta.content;
        contentChunks++;
      }
      if (choice.finish_reason) finish = choice.finish_reason;
    }
    expect(text).toBe(EXACT);
    expect(contentChunks).toBeGreaterThan(3);
    expect(finish).toBe("stop");
    expect(usage.completion_tokens).toBeGreaterThan(3);
    expect(usage.prompt_tokens).toBeGreaterThan(1);
  }, 60_000);

  test("non-streaming returns chat.completion with usage; max_tokens gives finish_reason length", async () => {
    const full = await client.chat.completions.create({ model: "x", messages: [{ role: "system", content: "Be brief." }, { role: "user", content: [{ type: "text", text: "hi" }] }], ...withGrammar, seed: 1 });
    expect(full.object).toBe("chat.completion");
    expect(full.choices[0]!.message.content).toBe(EXACT);
    expect(full.usage!.total_tokens).toBe(full.usage!.prompt_tokens + full.usage!.completion_tokens);
    const cut = await client.chat.completions.create({ model: "x", messages: [{ role: "user", content: "hi" }], max_tokens: 3, temperature: 0 });
    expect(cut.choices[0]!.finish_reason).toBe("length");
    expect(cut.usage!.completion_tokens).toBeLessThanOrEqual(4);
  }, 60_000);

  test("stop sequences end the text before them", async () => {
    const r = await client.chat.completions.create({ model: "x", messages: [{ role: "user", content: "hi" }], stop: ["rabbit"], ...withGrammar });
    expect(r.choices[0]!.message.content).toBe("Hello there. I am a little ");
  }, 60_000);

  test("json_schema output is enforced by a grammar", async () => {
    const r = await client.chat.completions.create({
      model: "x",
      messages: [{ role: "user", content: "give me a pet" }],
      max_tokens: 200,
      response_format: { type: "json_schema", json_schema: { name: "pet", schema: { type: "object", properties: { name: { type: "string", maxLength: 8 }, legs: { type: "integer", enum: [2, 4] } }, required: ["name", "legs"] } } },
    });
    const pet = JSON.parse(r.choices[0]!.message.content!);
    expect(typeof pet.name).toBe("string");
    expect([2, 4]).toContain(pet.legs);
  }, 60_000);

  test("a client that disconnects mid-stream stops generation and frees the engine", async () => {
    const controller = new AbortController();
    const stream = await client.chat.completions.create({ model: "x", messages: [{ role: "user", content: "go on forever" }], stream: true, max_tokens: 4000, temperature: 1 }, { signal: controller.signal });
    let seen = 0;
    try {
      for await (const chunk of stream) {
        if (chunk.choices[0]?.delta.content && ++seen === 5) controller.abort();
      }
    } catch {}
    expect(seen).toBe(5);
    // Both sequences must be free again: two concurrent requests complete promptly.
    const started = performance.now();
    await Promise.all([0, 1].map(() => client.chat.completions.create({ model: "x", messages: [{ role: "user", content: "hi" }], max_tokens: 5 })));
    expect(performance.now() - started).toBeLessThan(20_000);
  }, 60_000);
});

describe("role personas (model role:N): the same turn a toy gets", () => {
  const OWL = "I am the wise owl. Hoot hoot!";
  beforeAll(() => {
    writeFileSync(
      hearth.config.toy.roles_file,
      JSON.stringify({
        "1": { prompt: "You are a rabbit.", start_text: "Hi." },
        "3": { prompt: "You are an owl.", start_text: "Hoot.", max_message_count: 4, grammar: `root ::= "${OWL}"` },
      }),
    );
    expect(hearth.pipeline.roles.reload().ok).toBe(true);
  });

  test("role:3 answers with that role's persona, keeps the conversation per user, and logs the turn under the completion id", async () => {
    const models = await client.models.list();
    expect(models.data.map((m) => m.id)).toEqual(expect.arrayContaining(["role:1", "role:3"]));
    const first = await client.chat.completions.create({ model: "role:3", user: "kid1", messages: [{ role: "user", content: "Who are you?" }] });
    expect(first.choices[0]!.message.content).toBe(OWL);
    expect(first.choices[0]!.finish_reason).toBe("stop");
    expect(first.usage!.completion_tokens).toBeGreaterThan(0);
    const second = await client.chat.completions.create({ model: "role:3", user: "kid1", messages: [{ role: "user", content: "Where do you live?" }] });
    expect(second.choices[0]!.message.content).toBe(OWL);
    const history = hearth.pipeline.conversations.history({ frontEnd: "api", device: "kid1", role: "3" });
    expect(history.map((e) => e.user)).toEqual(["Who are you?", "Where do you live?"]);
    const turns = (await (await fetch(`${hearth.url}/api/turns?limit=10`)).json()).data as any[];
    const logged = turns.find((t) => t.id === second.id);
    expect(logged).toMatchObject({ source: "api", role: "3", transcript: "Where do you live?", reply: OWL, outcome: "replied" });
  });

  test("streaming role:N sends the reply sentence by sentence; the deltas join to the whole reply", async () => {
    const stream = await client.chat.completions.create({ model: "role:3", user: "kid2", stream: true, stream_options: { include_usage: true }, messages: [{ role: "user", content: "Hello" }] });
    const deltas: string[] = [];
    let finish: string | null = null;
    let usage: unknown;
    for await (const chunk of stream) {
      if (chunk.choices[0]?.delta.content) deltas.push(chunk.choices[0].delta.content);
      finish = chunk.choices[0]?.finish_reason ?? finish;
      usage ??= chunk.usage ?? undefined;
    }
    expect(deltas.length).toBe(2);
    expect(deltas.join("")).toBe(OWL);
    expect(finish).toBe("stop");
    expect(usage).toMatchObject({ completion_tokens: expect.any(Number) });
  });

  test("a role roles.json does not have is a 404 naming the model; a plain model still works as before", async () => {
    const missing = await client.chat.completions.create({ model: "role:9", messages: [{ role: "user", content: "hi" }] }).catch((e) => e);
    expect(missing.status).toBe(404);
    expect(missing.error).toMatchObject({ code: "model_not_found", param: "model" });
    const plain = await client.chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }], max_tokens: 3 });
    expect(plain.choices[0]!.message.role).toBe("assistant");
  });
});

describe("speech", () => {
  const input = "Hello there. How are you today? I am fine, thank you.";

  test("returns a playable MP3 as long as the voice's own audio", async () => {
    const response = await client.audio.speech.create({ model: "tts-1", voice: "alloy", input });
    expect(response.headers.get("content-type")).toBe("audio/mpeg");
    const mp3 = await decodeMp3(new Uint8Array(await response.arrayBuffer()));
    const reference = await collectAudio(hearth.engines.tts.synthesize(input, { voice: hearth.pipeline.voices.resolve("alloy") }));
    const expectedSeconds = reference!.samples.length / reference!.sampleRate;
    const seconds = mp3.samples.length / mp3.sampleRate;
    expect(mp3.errors).toBe(0);
    expect(expectedSeconds).toBeGreaterThan(0.5);
    expect(Math.abs(seconds - expectedSeconds)).toBeLessThan(0.15); // MP3 adds up to ~2 frames of padding
  }, 30_000);

  test("speed 2 halves the length; wav and pcm formats carry the same audio", async () => {
    const normal = decodeWav(new Uint8Array(await (await client.audio.speech.create({ model: "tts-1", voice: "nova", input, response_format: "wav" })).arrayBuffer()));
    const fast = decodeWav(new Uint8Array(await (await client.audio.speech.create({ model: "tts-1", voice: "nova", input, response_format: "wav", speed: 2 })).arrayBuffer()));
    expect(fast.samples.length / normal.samples.length).toBeCloseTo(0.5, 1);
    // pcm at the voice's own rate (sample_rate asks for it) is the wav's samples, byte for byte
    const pcm = await client.audio.speech.create({ model: "tts-1", voice: "nova", input, response_format: "pcm", sample_rate: normal.sampleRate } as any);
    expect(Number(pcm.headers.get("x-sample-rate"))).toBe(normal.sampleRate);
    expect(new Uint8Array(await pcm.arrayBuffer()) as Uint8Array).toEqual(floatToS16le(normal.samples));
  }, 30_000);

  test("pcm is 24 kHz as OpenAI sends it, whatever the voice's rate: a client playing it at 24 kHz hears the right length", async () => {
    const wav = decodeWav(new Uint8Array(await (await client.audio.speech.create({ model: "tts-1", voice: "nova", input, response_format: "wav" })).arrayBuffer()));
    expect(wav.sampleRate).not.toBe(24000); // the fixture voice is 16 or 22.05 kHz, so this really resamples
    const pcm = await client.audio.speech.create({ model: "tts-1", voice: "nova", input, response_format: "pcm" });
    expect(pcm.headers.get("x-sample-rate")).toBe("24000");
    const bytes = new Uint8Array(await pcm.arrayBuffer());
    expect(bytes.length).toBe(resampledLength(wav.samples.length, wav.sampleRate, 24000) * 2);
    // same sound: the resampled wav matches what was sent, sample for sample (to within rounding)
    const sent = s16leToFloat(bytes);
    const expected = resample(wav.samples, wav.sampleRate, 24000);
    let worst = 0;
    for (let i = 0; i < sent.length; i++) worst = Math.max(worst, Math.abs(sent[i]! - expected[i]!));
    expect(worst).toBeLessThan(2e-3);
    // sample_rate picks another rate; wav follows it too; MP3 takes only MP3's rates
    const pcm16 = await client.audio.speech.create({ model: "tts-1", voice: "nova", input, response_format: "pcm", sample_rate: 16000 } as any);
    expect(pcm16.headers.get("x-sample-rate")).toBe("16000");
    const wav48 = decodeWav(new Uint8Array(await (await client.audio.speech.create({ model: "tts-1", voice: "nova", input, response_format: "wav", sample_rate: 48000 } as any)).arrayBuffer()));
    expect(wav48.sampleRate).toBe(48000);
    expect(wav48.samples.length).toBe(resampledLength(wav.samples.length, wav.sampleRate, 48000));
    const badMp3: any = await client.audio.speech.create({ model: "tts-1", voice: "nova", input, sample_rate: 17000 } as any).catch((e) => e);
    expect(badMp3.status).toBe(400);
    expect(badMp3.param).toBe("sample_rate");
  }, 30_000);

  test("whitespace-only input is a 400 naming input", async () => {
    const error: any = await client.audio.speech.create({ model: "tts-1", voice: "alloy", input: " \n\t " }).catch((e) => e);
    expect(error.status).toBe(400);
    expect(error.param).toBe("input");
  });

  test("stream_format audio sends the first bytes before the whole text is synthesized", async () => {
    const long = Array.from({ length: 80 }, (_, i) => `This is sentence number ${i + 1} of a long story.`).join(" ");
    const started = performance.now();
    const response = await fetch(`${hearth.url}/v1/audio/speech`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: "tts-1", voice: "alloy", input: long.slice(0, 4096) }) });
    const reader = response.body!.getReader();
    let first = 0;
    let reads = 0;
    for (let r = await reader.read(); !r.done; r = await reader.read()) {
      if (!first) first = performance.now() - started;
      reads++;
    }
    const total = performance.now() - started;
    // the socket may coalesce writes, but the first bytes must arrive long before the end
    expect(reads).toBeGreaterThan(1);
    expect(first).toBeLessThan(total / 2); // a body sent only when complete would have first ≈ total
  }, 60_000);

  test("stream_format sse sends speech.audio.delta events then speech.audio.done", async () => {
    const response = await fetch(`${hearth.url}/v1/audio/speech`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: "tts-1", voice: "alloy", input, stream_format: "sse", response_format: "pcm" }) });
    expect(response.headers.get("content-type")).toContain("text/event-stream");
    const events = (await response.text()).split("\n\n").filter((b) => b.startsWith("data: ")).map((b) => JSON.parse(b.slice(6)));
    const bytes = events.filter((e) => e.type === "speech.audio.delta").reduce((n, e) => n + Buffer.from(e.audio, "base64").length, 0);
    expect(events.at(-1).type).toBe("speech.audio.done");
    const reference = await collectAudio(hearth.engines.tts.synthesize(input, { voice: hearth.pipeline.voices.resolve("alloy") }));
    expect(bytes).toBe(resampledLength(reference!.samples.length, reference!.sampleRate, 24000) * 2); // pcm: 24 kHz
  }, 30_000);

  test("voices: OpenAI names map to local speakers, GET /v1/audio/voices lists them, PUT remaps", async () => {
    const voices = await (await fetch(`${hearth.url}/v1/audio/voices`)).json();
    expect(voices.voices[0].id).toBe("fixture-piper-tone");
    expect(voices.names).toContain("alloy");
    const put = await fetch(`${hearth.url}/api/openai-voicemap`, { method: "PUT", headers: { "content-type": "application/json" }, body: JSON.stringify({ alloy: "fixture-piper-tone:3" }) });
    expect((await put.json()).openai_voice_map.alloy).toBe("fixture-piper-tone:3");
    const bad = await fetch(`${hearth.url}/api/openai-voicemap`, { method: "PUT", headers: { "content-type": "application/json" }, body: JSON.stringify({ alloy: "nobody" }) });
    expect(bad.status).toBe(400);
  });

  test("marin, cedar and voice names OpenAI adds later can be mapped; the map says what it did; bad names are a clear 400", async () => {
    // marin and cedar work out of the box (spread over the installed speakers like the others)
    for (const voice of ["marin", "cedar"]) {
      const audio = await client.audio.speech.create({ model: "gpt-4o-mini-tts", voice, input: "Hi.", response_format: "wav" });
      expect(decodeWav(new Uint8Array(await audio.arrayBuffer())).samples.length).toBeGreaterThan(100);
    }
    const unknown: any = await client.audio.speech.create({ model: "tts-1", voice: "juniper" as any, input: "Hi." }).catch((e) => e);
    expect(unknown.status).toBe(400);
    const put = async (map: object) => fetch(`${hearth.url}/api/openai-voicemap`, { method: "PUT", headers: { "content-type": "application/json" }, body: JSON.stringify(map) });
    const mapped = await put({ Marin: "fixture-piper-tone:1", juniper: "fixture-piper-tone:2" });
    expect(mapped.status).toBe(200);
    expect((await mapped.json()).openai_voice_map).toMatchObject({ marin: "fixture-piper-tone:1", juniper: "fixture-piper-tone:2" });
    expect(hearth.pipeline.voices.resolve("juniper")).toBe("fixture-piper-tone:2");
    const juniper = await client.audio.speech.create({ model: "tts-1", voice: "juniper" as any, input: "Hi.", response_format: "wav" });
    expect(juniper.status).toBe(200);
    const voices = await (await fetch(`${hearth.url}/v1/audio/voices`)).json();
    expect(voices.names).toEqual(expect.arrayContaining(["marin", "cedar", "juniper"]));
    for (const wrong of [{ "not a name": "fixture-piper-tone" }, { "fixture-piper-tone": "fixture-piper-tone:2" }]) {
      const response = await put(wrong);
      expect(response.status).toBe(400);
      expect((await response.json()).error.message).toMatch(/voice map/);
    }
  });
});

describe("models, health and errors", () => {
  test("/v1/models lists installed models and aliases; /health is ready", async () => {
    const models = await client.models.list();
    const ids = models.data.map((m) => m.id);
    for (const id of ["whisper-1", "tts-1", hearth.engines.profile.llm.id, hearth.engines.profile.stt.id]) expect(ids).toContain(id);
    const health = await fetch(`${hearth.url}/health`);
    expect(health.status).toBe(200);
  });

  const cases: [string, () => Promise<unknown>, number, string | null][] = [
    ["empty file", async () => client.audio.transcriptions.create({ file: await toFile(new Uint8Array(0), "e.wav"), model: "whisper-1" }), 400, "file"],
    ["non-audio file", async () => client.audio.transcriptions.create({ file: await toFile(new TextEncoder().encode("just some text, not audio at all"), "a.wav"), model: "whisper-1" }), 415, "file"],
    ["4097-character input", () => client.audio.speech.create({ model: "tts-1", voice: "alloy", input: "a".repeat(4097) }), 400, "input"],
    ["unknown voice", () => client.audio.speech.create({ model: "tts-1", voice: "nobody" as any, input: "hi" }), 400, "voice"],
    ["speed 5", () => client.audio.speech.create({ model: "tts-1", voice: "alloy", input: "hi", speed: 5 }), 400, "speed"],
    ["unsupported response_format", () => client.audio.speech.create({ model: "tts-1", voice: "alloy", input: "hi", response_format: "aac" }), 400, "response_format"],
    ["missing model", () => client.chat.completions.create({ messages: [{ role: "user", content: "hi" }] } as any), 400, "model"],
    ["n=2", () => client.chat.completions.create({ model: "x", n: 2, messages: [{ role: "user", content: "hi" }] }), 400, "n"],
    ["timestamp_granularities without verbose_json", async () => client.audio.transcriptions.create({ file: await toFile(await readAudioFile("utt01.wav"), "a.wav"), model: "whisper-1", timestamp_granularities: ["word"] }), 400, "timestamp_granularities[]"],
  ];
  for (const [name, call, status, param] of cases) {
    test(`${name} -> ${status} with an OpenAI error body`, async () => {
      const error: any = await call().then(() => null, (e) => e);
      expect(error).toBeInstanceOf(OpenAI.APIError);
      expect(error.status).toBe(status);
      expect(error.error.type).toBe("invalid_request_error");
      expect(error.param).toBe(param);
      expect(error.message.length).toBeGreaterThan(10);
    }, 30_000);
  }

  test("bad JSON and unknown routes get OpenAI-shaped JSON errors, never HTML or a stack", async () => {
    const bad = await fetch(`${hearth.url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: "{not json" });
    expect(bad.status).toBe(400);
    expect((await bad.json()).error.type).toBe("invalid_request_error");
    const missing = await fetch(`${hearth.url}/v1/nothing-here`);
    expect(missing.status).toBe(404);
    const body = await missing.json();
    expect(body.error.message).toContain("/v1/nothing-here");
  });
});

describe("api keys", () => {
  test("with keys configured every /v1 route needs a valid bearer key; /health stays open", async () => {
    const locked = await startTestHearth({ HEARTH_HTTP_API_KEYS: "sekrit-1,sekrit-2" });
    try {
      const none = await fetch(`${locked.url}/v1/models`);
      expect(none.status).toBe(401);
      expect((await none.json()).error.type).toBe("authentication_error");
      const wrong = await fetch(`${locked.url}/v1/models`, { headers: { authorization: "Bearer sekrit-3" } });
      expect(wrong.status).toBe(401);
      const good = new OpenAI({ baseURL: `${locked.url}/v1`, apiKey: "sekrit-2", maxRetries: 0 });
      expect((await good.models.list()).data.length).toBeGreaterThan(3);
      expect((await fetch(`${locked.url}/health`)).status).toBe(200);
    } finally {
      await locked.stop();
    }
  }, 120_000);
});

describe("admission: a full queue is a 429 before any byte of a stream", () => {
  test("chat (streamed or not), role:N and the Responses API answer 429 queue_full when every LLM place is taken", async () => {
    const llm = hearth.engines.llm;
    const held: LlmReservation[] = [];
    const full = (() => {
      try {
        for (;;) held.push(llm.reserve());
      } catch (e) {
        return e;
      }
    })();
    try {
      expect(full).toBeInstanceOf(Busy);
      expect(held.length).toBe(hearth.config.llm.sequences + hearth.config.llm.max_queue);
      const role = Object.keys(hearth.pipeline.roles.current.roles)[0]!;
      const attempts: [string, () => Promise<unknown>][] = [
        ["chat", () => client.chat.completions.create({ model: "x", messages: [{ role: "user", content: "hi" }] })],
        ["chat stream", async () => { for await (const _ of await client.chat.completions.create({ model: "x", messages: [{ role: "user", content: "hi" }], stream: true })); }],
        ["role:N stream", async () => { for await (const _ of await client.chat.completions.create({ model: `role:${role}`, messages: [{ role: "user", content: "hi" }], stream: true })); }],
        ["responses stream", async () => { for await (const _ of await client.responses.create({ model: "x", input: "hi", stream: true })); }],
      ];
      for (const [name, attempt] of attempts) {
        const error: any = await attempt().then(() => null, (e) => e);
        expect([name, error?.constructor?.name]).toEqual([name, "RateLimitError"]);
        expect(error.error).toMatchObject({ type: "rate_limit_error", code: "queue_full" });
      }
      // what an SDK sees on the wire: the status line, not a 200 with an error event inside
      const raw = await fetch(`${hearth.url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: "x", stream: true, messages: [{ role: "user", content: "hi" }] }) });
      expect(raw.status).toBe(429);
      expect(raw.headers.get("content-type")).toContain("application/json");
    } finally {
      for (const place of held) place.release();
    }
    // the places were given back: requests run again, and rejected ones left nothing behind
    const stream = await client.chat.completions.create({ model: "x", messages: [{ role: "user", content: "hi" }], stream: true, max_tokens: 2 });
    for await (const _ of stream);
    expect(() => {
      const more = Array.from({ length: held.length }, () => llm.reserve());
      for (const place of more) place.release();
    }).not.toThrow();
  }, 60_000);

  test("streaming transcription: a recognizer that turns the request away is a 429, not a 200 with an error event", async () => {
    const stt = hearth.engines.stt;
    const original = stt.transcribe;
    stt.transcribe = async () => {
      throw new Busy("the engine is busy; try again shortly"); // what the recognizer's full queue throws
    };
    try {
      const error: any = await (async () => {
        for await (const _ of await client.audio.transcriptions.create({ file: await toFile(await readAudioFile("utt02.wav"), "u.wav"), model: "whisper-1", stream: true }));
      })().then(() => null, (e) => e);
      expect(error).toBeInstanceOf(OpenAI.RateLimitError);
    } finally {
      stt.transcribe = original;
    }
  }, 30_000);
});

describe("bodies too large: always OpenAI's 413", () => {
  test("an upload past the server's cap (with Content-Length) gets the JSON 413 the SDK can read", async () => {
    const cap = hearth.config.http.max_upload_mb * 1e6 + 1e6; // what app.ts gives the server
    const big = await toFile(new Uint8Array(cap + 1_000_000), "big.wav", { type: "audio/wav" });
    const error: any = await client.audio.transcriptions.create({ file: big, model: "whisper-1" }).catch((e) => e);
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect(error.status).toBe(413);
    expect(error.error).toMatchObject({ type: "invalid_request_error", code: "too_large" });
    expect(error.message).toContain("MB");
  }, 60_000);

  test("a chunked upload (no Content-Length) is cut at the cap: 413 with the OpenAI body", async () => {
    const cap = hearth.config.http.max_upload_mb * 1e6 + 1e6;
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent > cap * 3) return controller.close(); // it should never get this far
        sent += 1 << 20;
        controller.enqueue(new Uint8Array(1 << 20));
      },
    });
    const response = await fetch(`${hearth.url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body, duplex: "half" } as RequestInit);
    expect(response.status).toBe(413);
    expect((await response.json()).error).toMatchObject({ type: "invalid_request_error", code: "too_large" });
    expect(sent).toBeLessThan(cap * 2);
    // a small chunked body still goes through
    const small = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode(JSON.stringify({ model: "x", max_tokens: 2, messages: [{ role: "user", content: "hi" }] })));
        controller.close();
      },
    });
    const ok = await fetch(`${hearth.url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: small, duplex: "half" } as RequestInit);
    expect(ok.status).toBe(200);
  }, 60_000);
});

describe("limits told honestly", () => {
  test("usage.completion_tokens never exceeds max_tokens, streamed or not", async () => {
    for (const max of [1, 2, 7, 16]) {
      const r = await client.chat.completions.create({ model: "x", messages: [{ role: "user", content: "Tell me everything." }], max_tokens: max, temperature: 1, seed: max });
      expect(r.usage!.completion_tokens).toBeLessThanOrEqual(max);
      const stream = await client.chat.completions.create({ model: "x", messages: [{ role: "user", content: "Tell me everything." }], max_completion_tokens: max, temperature: 1, seed: max, stream: true, stream_options: { include_usage: true } });
      let usage: any;
      for await (const chunk of stream) usage = chunk.usage ?? usage;
      expect(usage.completion_tokens).toBeLessThanOrEqual(max);
      expect(usage.completion_tokens).toBeGreaterThan(0);
    }
  }, 60_000);

  test("an invalid or unenforceable json_schema is a 400 naming response_format.json_schema", async () => {
    const schemas = [
      { type: "banana" },
      { type: "object", properties: "name" },
      { type: "object", properties: { pet: { $ref: "#/$defs/Pet" } } },
      { type: "object", properties: { email: { type: "string", pattern: "^.+@.+$" } } },
      { type: "object", required: "name" },
    ];
    for (const schema of schemas) {
      const error: any = await client.chat.completions
        .create({ model: "x", messages: [{ role: "user", content: "hi" }], response_format: { type: "json_schema", json_schema: { name: "x", schema } } })
        .catch((e) => e);
      expect(error.status).toBe(400);
      expect(error.param).toBe("response_format.json_schema");
    }
  });

  test("schemas as zod and the SDKs write them (nullable unions, safe-integer bounds, $defs) are enforced", async () => {
    const schema = {
      $schema: "http://json-schema.org/draft-07/schema#",
      type: "object",
      properties: {
        name: { type: ["string", "null"], maxLength: 6 },
        legs: { type: "integer", minimum: -9007199254740991, maximum: 9007199254740991 },
        kind: { $ref: "#/definitions/Kind" },
      },
      required: ["name", "legs", "kind"],
      additionalProperties: false,
      definitions: { Kind: { anyOf: [{ type: "string", enum: ["cat", "dog"] }, { type: "null" }] } },
    };
    const r = await client.chat.completions.create({ model: "x", messages: [{ role: "user", content: "a pet" }], max_tokens: 200, response_format: { type: "json_schema", json_schema: { name: "pet", schema, strict: true } } });
    const text = r.choices[0]!.message.content!;
    const pet = JSON.parse(text);
    expect(Object.keys(pet).sort()).toEqual(["kind", "legs", "name"]);
    expect(text).toMatch(/"legs"\s*:\s*-?\d+([eE]\+?\d+)?\s*[,}]/); // an integer (no fraction; its size is not bounded)
    expect([null, "cat", "dog"]).toContain(pet.kind);
  }, 60_000);

  test("a prompt longer than the context is a 400 context_length_exceeded, streamed or not, never a silent truncation", async () => {
    const long = "Once upon a time there was a rabbit. ".repeat(400);
    for (const stream of [false, true]) {
      const error: any = await client.chat.completions.create({ model: "x", messages: [{ role: "user", content: long }], stream }).catch((e) => e);
      expect(error.status).toBe(400);
      expect(error.code).toBe("context_length_exceeded");
      expect(error.param).toBe("messages");
      expect(error.message).toContain(`maximum context length is ${hearth.engines.llm.tokensPerConversation} tokens`);
    }
    // a large max_tokens is not an error: the reply stops where the context ends, and says so
    const llm = hearth.engines.llm;
    let fits = "";
    while (llm.countPromptTokens([{ role: "user", content: fits + "rabbit " }]) < llm.tokensPerConversation - 8) fits += "rabbit ";
    const r = await client.chat.completions.create({ model: "x", messages: [{ role: "user", content: fits }], max_tokens: 100_000, temperature: 1 });
    expect(r.choices[0]!.finish_reason).toBe("length");
    expect(r.usage!.prompt_tokens + r.usage!.completion_tokens).toBeLessThanOrEqual(llm.tokensPerConversation);
  }, 60_000);

  test("logprobs and top_logprobs are a 400 saying they are unsupported, never a silent null", async () => {
    for (const [extra, param] of [[{ logprobs: true }, "logprobs"], [{ logprobs: true, top_logprobs: 3 }, "logprobs"], [{ top_logprobs: 2 }, "top_logprobs"]] as const) {
      const error: any = await client.chat.completions.create({ model: "x", messages: [{ role: "user", content: "hi" }], ...extra }).catch((e) => e);
      expect(error.status).toBe(400);
      expect(error.param).toBe(param);
      expect(error.message).toContain("not supported");
    }
    const fine = await client.chat.completions.create({ model: "x", messages: [{ role: "user", content: "hi" }], logprobs: false, max_tokens: 2 });
    expect(fine.choices[0]!.finish_reason).toBeDefined();
  });
});

describe("responses API (official SDK)", () => {
  test("text in, text out, with instructions; usage and status as OpenAI reports them", async () => {
    const r = await client.responses.create({ model: "gpt-4o-mini", input: "Say hello", instructions: "Be a rabbit.", ...withGrammar });
    expect(r.object).toBe("response");
    expect(r.status).toBe("completed");
    expect(r.output_text).toBe(EXACT);
    expect(r.usage!.total_tokens).toBe(r.usage!.input_tokens + r.usage!.output_tokens);
    const bare = await client.responses.create({ model: "gpt-4o-mini", input: "Say hello", ...withGrammar });
    expect(r.usage!.input_tokens).toBeGreaterThan(bare.usage!.input_tokens); // the instructions reached the model
    expect((await client.responses.retrieve(r.id)).output_text).toBe(EXACT);
  }, 60_000);

  test("streams the Responses events in OpenAI's order; the deltas join to the done text", async () => {
    const stream = await client.responses.create({ model: "gpt-4o-mini", input: [{ role: "user", content: [{ type: "input_text", text: "Say hello" }] }], stream: true, ...withGrammar });
    const types: string[] = [];
    let deltas = "";
    let done = "";
    let completed: any;
    for await (const event of stream) {
      types.push(event.type);
      if (event.type === "response.output_text.delta") deltas += event.delta;
      if (event.type === "response.output_text.done") done = event.text;
      if (event.type === "response.completed") completed = event.response;
    }
    expect(types.slice(0, 4)).toEqual(["response.created", "response.in_progress", "response.output_item.added", "response.content_part.added"]);
    expect(types.slice(-4)).toEqual(["response.output_text.done", "response.content_part.done", "response.output_item.done", "response.completed"]);
    expect(deltas).toBe(EXACT);
    expect(done).toBe(EXACT);
    expect(completed.output[0].content[0].text).toBe(EXACT);
  }, 60_000);

  test("max_output_tokens: status incomplete, never more output tokens than asked", async () => {
    const r = await client.responses.create({ model: "x", input: "Tell me everything.", max_output_tokens: 4, temperature: 1 });
    expect(r.status).toBe("incomplete");
    expect(r.incomplete_details).toEqual({ reason: "max_output_tokens" });
    expect(r.usage!.output_tokens).toBeLessThanOrEqual(4);
  }, 30_000);

  test("previous_response_id continues the conversation; an unknown id is a 400", async () => {
    const first = await client.responses.create({ model: "x", input: "Say hello", ...withGrammar });
    const second = await client.responses.create({ model: "x", input: "And again", previous_response_id: first.id, ...withGrammar });
    const alone = await client.responses.create({ model: "x", input: "And again", ...withGrammar });
    expect(second.previous_response_id).toBe(first.id);
    // the first exchange (its question and its answer) is in the second prompt; the answer's tokens
    // counted again in a prompt may merge differently from how they were generated, hence the margin
    expect(second.usage!.input_tokens - alone.usage!.input_tokens).toBeGreaterThan(first.usage!.output_tokens / 2);
    const error: any = await client.responses.create({ model: "x", input: "hi", previous_response_id: "resp_nope" }).catch((e) => e);
    expect(error.status).toBe(400);
    expect(error.param).toBe("previous_response_id");
  }, 60_000);
});

describe("transcription extras", () => {
  test("json carries usage {type: duration, seconds}", async () => {
    const r = await client.audio.transcriptions.create({ file: await toFile(await readAudioFile("utt03.wav"), "u.wav"), model: "whisper-1" });
    const seconds = decodeWav(await readAudioFile("utt03.wav")).samples.length / decodeWav(await readAudioFile("utt03.wav")).sampleRate;
    expect(r.usage).toEqual({ type: "duration", seconds: Math.ceil(seconds) });
  }, 30_000);

  test("streaming sends each segment as it is recognized; the deltas concatenate exactly to the done text", async () => {
    // longer than Whisper's 30 s window, so it is recognized in pieces
    const names = [...(await transcripts()).keys()];
    const pause = new Float32Array(16000);
    const parts: Float32Array[] = [];
    for (const name of [...names, ...names.slice(0, 3)]) parts.push(decodeWav(await readAudioFile(name)).samples, pause);
    const audio = concatSamples(parts);
    expect(audio.length / 16000).toBeGreaterThan(31);
    const started = performance.now();
    const stream = await client.audio.transcriptions.create({ file: await toFile(encodeWav(audio, 16000), "long.wav"), model: "whisper-1", stream: true });
    const deltas: { text: string; at: number }[] = [];
    let done = "";
    let doneAt = 0;
    for await (const event of stream) {
      if (event.type === "transcript.text.delta") deltas.push({ text: event.delta, at: performance.now() - started });
      if (event.type === "transcript.text.done") {
        done = event.text;
        doneAt = performance.now() - started;
      }
    }
    expect(deltas.length).toBeGreaterThan(1);
    expect(deltas.map((d) => d.text).join("")).toBe(done);
    expect(done).not.toMatch(/^\s|\s$/);
    expect(deltas[0]!.at).toBeLessThan(doneAt - 100); // the first piece went out before the last was recognized
  }, 120_000);
});
