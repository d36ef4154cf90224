// POST /v1/chat/completions: streaming (SSE) and not, as OpenAI shapes them.
import { z } from "zod";
import { BadRequest } from "../errors.ts";
import type { ChatMessage, ChatOptions, ChatResult } from "../engines/types.ts";
import { metrics } from "../metrics.ts";
import { readJson } from "../http/body.ts";
import type { ApiDeps } from "./deps.ts";
import { sseResponse } from "../http/sse.ts";

const contentPart = z.object({ type: z.string(), text: z.string().optional() }).loose();
const message = z
  .object({
    role: z.enum(["system", "developer", "user", "assistant"]),
    content: z.union([z.string(), z.array(contentPart), z.null()]),
  })
  .loose();

const chatRequest = z
  .object({
    model: z.string().min(1),
    messages: z.array(message).min(1),
    stream: z.boolean().optional(),
    stream_options: z.object({ include_usage: z.boolean().optional() }).loose().nullish(),
    max_tokens: z.number().int().positive().nullish(),
    max_completion_tokens: z.number().int().positive().nullish(),
    temperature: z.number().min(0).max(2).nullish(),
    top_p: z.number().gt(0).max(1).nullish(),
    frequency_penalty: z.number().min(-2).max(2).nullish(),
    presence_penalty: z.number().min(-2).max(2).nullish(),
    seed: z.number().int().nullish(),
    stop: z.union([z.string(), z.array(z.string()).max(4)]).nullish(),
    n: z.number().int().nullish(),
    user: z.string().optional(),
    response_format: z
      .discriminatedUnion("type", [
        z.object({ type: z.literal("text") }),
        z.object({ type: z.literal("json_object") }),
        z.object({ type: z.literal("json_schema"), json_schema: z.object({ name: z.string().optional(), schema: z.record(z.string(), z.unknown()) }).loose() }),
      ])
      .nullish(),
  })
  .loose();

type ChatRequest = z.infer<typeof chatRequest>;

export async function chatCompletions(req: Request, deps: ApiDeps): Promise<Response> {
  const body = await readJson(req, chatRequest);
  if (body.n != null && body.n !== 1) throw new BadRequest("Only n=1 is supported.", "n");
  const engines = deps.engines();
  const messages = toMessages(body);
  const id = `chatcmpl-${crypto.randomUUID().replaceAll("-", "")}`;
  const created = Math.floor(Date.now() / 1000);
  const model = body.model;
  const options = chatOptions(body);
  const started = performance.now();

  if (!body.stream) {
    let text = "";
    const result = await engines.llm.chat(messages, { ...options, signal: req.signal }, (chunk) => (text += chunk));
    metrics.countTurn("api");
    return Response.json({
      id,
      object: "chat.completion",
      created,
      model,
      system_fingerprint: null,
      choices: [{ index: 0, message: { role: "assistant", content: text, refusal: null }, logprobs: null, finish_reason: result.finishReason }],
      usage: usage(result),
    });
  }

  const chunk = (delta: object, finish: string | null) => ({
    id,
    object: "chat.completion.chunk",
    created,
    model,
    system_fingerprint: null,
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
  });
  return sseResponse(
    req,
    async (sse) => {
      sse.send(chunk({ role: "assistant", content: "" }, null));
      const result = await engines.llm.chat(
        messages,
        {
          ...options,
          signal: sse.signal,
          onPromptDone: () => metrics.observeStage("llm_first_token", (performance.now() - started) / 1000, "api"),
        },
        (text) => sse.send(chunk({ content: text }, null)),
      );
      sse.send(chunk({}, result.finishReason));
      if (body.stream_options?.include_usage) {
        sse.send({ id, object: "chat.completion.chunk", created, model, system_fingerprint: null, choices: [], usage: usage(result) });
      }
      sse.send("[DONE]");
      metrics.countTurn("api");
    },
  );
}

function toMessages(body: ChatRequest): ChatMessage[] {
  return body.messages.map((m, i) => {
    const content =
      typeof m.content === "string"
        ? m.content
        : (m.content ?? [])
            .map((part) => {
              if (part.type !== "text") throw new BadRequest(`Only text content parts are supported; got "${part.type}".`, `messages.${i}.content`);
              return part.text ?? "";
            })
            .join("");
    return { role: m.role === "developer" ? "system" : m.role, content };
  });
}

function chatOptions(body: ChatRequest): ChatOptions {
  const format = body.response_format;
  return {
    maxTokens: body.max_completion_tokens ?? body.max_tokens ?? undefined,
    temperature: body.temperature ?? undefined,
    topP: body.top_p ?? undefined,
    frequencyPenalty: body.frequency_penalty ?? undefined,
    presencePenalty: body.presence_penalty ?? undefined,
    seed: body.seed ?? undefined,
    stop: body.stop == null ? undefined : typeof body.stop === "string" ? [body.stop] : body.stop,
    grammar: format?.type === "json_object" ? "json" : ((body as any).grammar as string | undefined),
    jsonSchema: format?.type === "json_schema" ? format.json_schema.schema : undefined,
  };
}

function usage(result: ChatResult) {
  return { prompt_tokens: result.promptTokens, completion_tokens: result.completionTokens, total_tokens: result.promptTokens + result.completionTokens };
}
