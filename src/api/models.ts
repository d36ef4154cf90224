// GET /v1/models and /v1/models/:id: every installed model plus the OpenAI aliases that map to them.
import { NotFound } from "../errors.ts";
import type { Pipeline } from "../pipeline/pipeline.ts";
import type { ApiDeps } from "./deps.ts";

const STARTED = Math.floor(Date.now() / 1000);

/** Installed models, their OpenAI aliases, and "role:N" for each role of roles.json (a persona with its own history). */
export function modelList(pipeline: Pipeline) {
  const { stt, llm, tts } = pipeline.engines; // the engines' own ids: a remote engine's model is not the profile's
  const ids = [
    stt.id,
    "whisper-1",
    "gpt-4o-transcribe",
    "gpt-4o-mini-transcribe",
    llm.id,
    "gpt-4o-mini",
    "gpt-3.5-turbo",
    ...tts.voices().map((v) => v.id),
    "tts-1",
    "tts-1-hd",
    "gpt-4o-mini-tts",
    ...Object.keys(pipeline.roles.current.roles).map((key) => `role:${key}`),
  ];
  return [...new Set(ids)].map((id) => ({ id, object: "model", created: STARTED, owned_by: "hearth" }));
}

export function listModels(_req: Request, deps: ApiDeps): Response {
  return Response.json({ object: "list", data: modelList(deps.pipeline()) });
}

export function getModel(req: Request & { params: Record<string, string> }, deps: ApiDeps): Response {
  const model = modelList(deps.pipeline()).find((m) => m.id === req.params.id);
  if (!model) throw new NotFound(`The model '${req.params.id}' does not exist. GET /v1/models lists the installed ones.`, "model", "model_not_found");
  return Response.json(model);
}
