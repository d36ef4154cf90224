// The OpenAI-compatible routes, in Bun.serve's `routes` format.
import { chatCompletions } from "./chat.ts";
import type { ApiDeps } from "./deps.ts";
import { getModel, listModels } from "./models.ts";
import { createResponse, deleteResponse, getResponse } from "./responses.ts";
import { speech } from "./speech.ts";
import { transcriptions, translations } from "./transcriptions.ts";
import { listVoices, putVoiceMap } from "./voices.ts";
import type { Routes } from "../http/routes.ts";

export function apiRoutes(deps: ApiDeps): Routes {
  return {
    "/v1/models": { GET: (req) => listModels(req, deps) },
    "/v1/models/:id": { GET: (req) => getModel(req, deps) },
    "/v1/audio/transcriptions": { POST: (req) => transcriptions(req, deps) },
    "/v1/audio/translations": { POST: (req) => translations(req, deps) },
    "/v1/chat/completions": { POST: (req) => chatCompletions(req, deps) },
    "/v1/responses": { POST: (req) => createResponse(req, deps) },
    "/v1/responses/:id": { GET: (req) => getResponse(req, deps), DELETE: (req) => deleteResponse(req, deps) },
    "/v1/audio/speech": { POST: (req) => speech(req, deps) },
    "/v1/audio/voices": { GET: (req) => listVoices(req, deps) },
    "/api/openai-voicemap": { PUT: (req) => putVoiceMap(req, deps), GET: (req) => listVoices(req, deps) },
  };
}
