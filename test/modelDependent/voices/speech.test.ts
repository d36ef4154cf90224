// /v1/audio/speech with voices of two languages and rates (issues 17.1, 17.2), through the
// official openai client: the `test-voices` profile has an English voice at 22.05 kHz and a
// Mandarin one at 8 kHz (made from the tone fixture, test/support/voice-fixtures.ts), as `pi`
// has amy and aishell3. The tone a voice sings tells which voice spoke: its rate in a WAV, its
// pitch (220 Hz x (1 + speaker/2) at 22.05 kHz; the same step per sample, so x 8000/22050 at 8 kHz).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import OpenAI from "openai";
import type { Hearth } from "../../../src/app.ts";
import { decodeAudio } from "../../../src/audio/decode.ts";
import { s16leToFloat } from "../../../src/audio/pcm.ts";
import { decodeWav } from "../../../src/audio/wav.ts";
import { OPENAI_VOICES } from "../../../src/pipeline/voices.ts";
import { startTestHearth } from "../../support/hearth.ts";
import { EN_VOICE, voicesProfileEnv, ZH_8K_VOICE } from "../../support/voice-fixtures.ts";

const EN = "Hello! How are you today?";
const ZH = "你好！今天过得怎么样？";

let hearth: Hearth;
let client: OpenAI;

beforeAll(async () => {
  hearth = await startTestHearth(voicesProfileEnv());
  client = new OpenAI({ baseURL: `${hearth.url}/v1`, apiKey: "unused", maxRetries: 0 });
}, 120_000);

afterAll(async () => {
  await hearth?.stop();
});

async function speech(body: Record<string, unknown>) {
  return client.audio.speech.create({ model: "tts-1", response_format: "wav", ...body } as any);
}

async function wav(voice: string, input: string) {
  return decodeWav(new Uint8Array(await (await speech({ voice, input })).arrayBuffer()));
}

/** The frequency of a tone, from its zero crossings (skipping the edges). */
function pitch(samples: Float32Array, rate: number): number {
  const mid = samples.subarray(Math.floor(samples.length * 0.1), Math.floor(samples.length * 0.9));
  let crossings = 0;
  for (let i = 1; i < mid.length; i++) if (mid[i - 1]! < 0 !== mid[i]! < 0) crossings++;
  return crossings / 2 / (mid.length / rate);
}

async function apiError(promise: Promise<unknown>): Promise<{ status: number; error: { message: string; param: string | null; code: string | null } }> {
  const e: any = await promise.catch((x) => x);
  expect(e).toBeInstanceOf(OpenAI.APIError);
  return { status: e.status, error: e.error };
}

describe("voices by language", () => {
  test("the voices list both languages and rates; the OpenAI names' default map stays on the English voice", async () => {
    const body = await (await fetch(`${hearth.url}/v1/audio/voices`)).json();
    expect(body.voices).toEqual([
      { id: EN_VOICE, language: "en", speakers: 4, sample_rate: 22050 },
      { id: ZH_8K_VOICE, language: "zh", speakers: 4, sample_rate: 8000 },
    ]);
    for (const v of Object.values(body.openai_voice_map)) expect(v).toMatch(new RegExp(`^${EN_VOICE}:\\d$`));
  });

  test("every OpenAI name speaks English with the English voice and Chinese with the Mandarin one", async () => {
    for (const voice of OPENAI_VOICES) {
      expect((await wav(voice, EN)).sampleRate).toBe(22050);
      expect((await wav(voice, ZH)).sampleRate).toBe(8000);
    }
  }, 60_000);

  test("the names spread over the Mandarin voice's speakers for Chinese text", async () => {
    const pitches = new Set<number>();
    for (const voice of OPENAI_VOICES.slice(0, 4)) {
      const audio = await wav(voice, ZH);
      pitches.add(Math.round(pitch(audio.samples, audio.sampleRate) / 10));
    }
    expect(pitches.size).toBe(4); // four speakers, four pitches
  });

  test("text a local voice cannot pronounce is a 400 naming the voices that can, never a 200", async () => {
    const zhForEnglish = await apiError(speech({ voice: ZH_8K_VOICE, input: EN }));
    expect(zhForEnglish.status).toBe(400);
    expect(zhForEnglish.error.param).toBe("voice");
    expect(zhForEnglish.error.code).toBe("unsupported_language");
    expect(zhForEnglish.error.message).toContain(`voice "${ZH_8K_VOICE}" speaks Chinese (zh)`);
    expect(zhForEnglish.error.message).toContain(`${EN_VOICE} (en`);
    const enForChinese = await apiError(speech({ voice: `${EN_VOICE}:2`, input: ZH, response_format: "mp3" }));
    expect(enForChinese.status).toBe(400);
    expect(enForChinese.error.message).toContain(`${ZH_8K_VOICE} (zh`);
    const korean = await apiError(speech({ voice: "alloy", input: "안녕하세요, 반갑습니다" }));
    expect(korean.status).toBe(400);
    expect(korean.error.message).toContain("Installed voices: fixture-piper-tone (en), tone-zh-8k (zh)");
    // and the voices say their own language
    expect((await wav(ZH_8K_VOICE, ZH)).sampleRate).toBe(8000);
    expect((await wav(`${EN_VOICE}:2`, EN)).sampleRate).toBe(22050);
  });

  test("a voice-map entry in another language does not capture text it cannot speak", async () => {
    const put = await fetch(`${hearth.url}/api/openai-voicemap`, { method: "PUT", headers: { "content-type": "application/json" }, body: JSON.stringify({ nova: `${ZH_8K_VOICE}:3` }) });
    expect((await put.json()).openai_voice_map.nova).toBe(`${ZH_8K_VOICE}:3`);
    expect((await wav("nova", ZH)).sampleRate).toBe(8000);
    expect((await wav("nova", EN)).sampleRate).toBe(22050);
  });
});

describe("an 8 kHz voice through the API", () => {
  test("pcm is 24 kHz and plays at the right pitch and length; wav keeps the voice's 8 kHz", async () => {
    const own = await wav(ZH_8K_VOICE, ZH);
    expect(own.sampleRate).toBe(8000);
    const response = await speech({ voice: ZH_8K_VOICE, input: ZH, response_format: "pcm" });
    const pcm = s16leToFloat(new Uint8Array(await response.arrayBuffer()));
    // played at 24 kHz as OpenAI's clients do: the same seconds, the same tone
    expect(Math.abs(pcm.length / 24000 - own.samples.length / 8000)).toBeLessThan(0.01);
    const ownPitch = pitch(own.samples, 8000);
    // the fixture's 220 Hz (at 22.05 kHz) is a step per sample: ~80 Hz at 8 kHz
    expect(ownPitch).toBeGreaterThan(75);
    expect(ownPitch).toBeLessThan(85);
    expect(Math.abs(pitch(pcm, 24000) - ownPitch)).toBeLessThan(ownPitch * 0.03);
  });

  test("mp3 is 16 kHz MPEG-2 (not 8 kHz MPEG-2.5), the same length", async () => {
    const own = await wav(ZH_8K_VOICE, ZH);
    const mp3 = new Uint8Array(await (await speech({ voice: ZH_8K_VOICE, input: ZH, response_format: "mp3" })).arrayBuffer());
    const decoded = await decodeAudio(mp3);
    expect(decoded.sampleRate).toBe(16000);
    const seconds = decoded.samples.length / decoded.sampleRate;
    expect(seconds).toBeGreaterThan(own.samples.length / 8000);
    expect(seconds).toBeLessThan(own.samples.length / 8000 + 0.2); // LAME's delay and padding
    // asking for 8 kHz MP3 explicitly still works (a client that wants MPEG-2.5 can have it)
    const small = await decodeAudio(new Uint8Array(await (await speech({ voice: ZH_8K_VOICE, input: ZH, response_format: "mp3", sample_rate: 8000 })).arrayBuffer()));
    expect(small.sampleRate).toBe(8000);
  });
});
