// GET /v1/audio/voices and the AllTalk-compatible PUT /api/openai-voicemap.
import { z } from "zod";
import { readJson } from "../http/body.ts";
import type { ApiDeps } from "./deps.ts";

export function listVoices(_req: Request, deps: ApiDeps): Response {
  const { voices } = deps.pipeline();
  return Response.json({
    voices: voices.list().map((v) => ({ id: v.id, language: v.language, speakers: v.speakers, sample_rate: v.sampleRate })),
    names: voices.names(),
    openai_voice_map: voices.currentVoiceMap(),
  });
}

const voiceMapBody = z.record(z.string().min(1), z.string().min(1));

/**
 * Body: {"alloy": "amy", "nova": "aishell3:12", "juniper": "amy:1"}: any OpenAI-style name (a
 * lowercase word, so voices OpenAI adds later too) to an installed voice; a bad entry is a 400
 * and changes nothing. Answers with the whole map. Lasts until restart ([tts] voice_map is the file setting).
 */
export async function putVoiceMap(req: Request, deps: ApiDeps): Promise<Response> {
  const map = await readJson(req, voiceMapBody);
  const { voices } = deps.pipeline();
  voices.setVoiceMap(Object.fromEntries(Object.entries(map).map(([k, v]) => [k.toLowerCase(), v])));
  return Response.json({ openai_voice_map: voices.currentVoiceMap() });
}
