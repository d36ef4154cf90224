// POST /v1/responses (OpenAI's Responses API, the Vercel AI SDK's default), text in and text out,
// streamed as OpenAI streams it or not; GET and DELETE /v1/responses/{id}. Earlier responses are
// kept in memory (bounded, lost on restart) so `previous_response_id` and `item_reference` work.
import { z } from "zod";
import type { ChatMessage, ChatOptions, ChatResult, Llm } from "../engines/types.ts";
import { BadRequest, NotFound } from "../errors.ts";
import { readJson } from "../http/body.ts";
import { sseResponse } from "../http/sse.ts";
import { metrics } from "../metrics.ts";
import type { ApiDeps } from "./deps.ts";
import { grammarSchema } from "./json-schema.ts";
import { checkContextLength, rejectLogprobs } from "./limits.ts";

/** Responses kept for previous_response_id, oldest dropped first. */
const KEPT_RESPONSES = 256;

const textPart = z.object({ type: z.string(), text: z.string().optional() }).loose();
const messageItem = z
  .object({
    type: z.literal("message").optional(),
    role: z.enum(["user", "system", "developer", "assistant"]),
    content: z.union([z.string(), z.array(textPart)]),
  })
  .loose();
const otherItem = z.object({ type: z.string(), id: z.string().optional() }).loose();

const textFormat = z.discriminatedUnion("type", [
  z.object({ type: z.literal("text") }).loose(),
  z.object({ type: z.literal("json_object") }).loose(),
  z.object({ type: z.literal("json_schema"), name: z.string().optional(), schema: z.record(z.string(), z.unknown()) }).loose(),
]);

const responseRequest = z
  .object({
    model: z.string().min(1),
    input: z.union([z.string(), z.array(z.union([messageItem, otherItem]))]),
    instructions: z.string().nullish(),
    previous_response_id: z.string().nullish(),
    max_output_tokens: z.number().int().positive().nullish(),
    temperature: z.number().min(0).max(2).nullish(),
    top_p: z.number().gt(0).max(1).nullish(),
    stream: z.boolean().nullish(),
    store: z.boolean().nullish(),
    metadata: z.record(z.string(), z.string()).nullish(),
    user: z.string().nullish(),
    text: z.object({ format: textFormat.optional() }).loose().nullish(),
    truncation: z.enum(["auto", "disabled"]).nullish(),
    tools: z.array(z.unknown()).nullish(),
    top_logprobs: z.number().int().min(0).max(20).nullish(),
    include: z.array(z.string()).nullish(),
  })
  .loose();

type ResponseRequest = z.infer<typeof responseRequest>;

interface StoredResponse {
  object: ResponseObject;
  /** The conversation up to and including this response's output (instructions excluded, as OpenAI does). */
  conversation: ChatMessage[];
}

type ResponseObject = ReturnType<typeof responseObject>;

/** The responses of one Hearth, by id, and their output messages by item id (for item_reference). */
class ResponseStore {
  private readonly responses = new Map<string, StoredResponse>();

  get(id: string): StoredResponse | undefined {
    return this.responses.get(id);
  }

  item(id: string): ChatMessage | undefined {
    for (const r of this.responses.values()) {
      const item = r.object.output.find((o) => o.id === id);
      if (item) return { role: "assistant", content: item.content.map((c) => c.text).join("") };
    }
    return undefined;
  }

  put(stored: StoredResponse) {
    this.responses.set(stored.object.id, stored);
    while (this.responses.size > KEPT_RESPONSES) this.responses.delete(this.responses.keys().next().value!);
  }

  delete(id: string): boolean {
    return this.responses.delete(id);
  }
}

const stores = new WeakMap<ApiDeps, ResponseStore>();
function storeFor(deps: ApiDeps): ResponseStore {
  let store = stores.get(deps);
  if (!store) stores.set(deps, (store = new ResponseStore()));
  return store;
}

export async function createResponse(req: Request, deps: ApiDeps): Promise<Response> {
  const body = await readJson(req, responseRequest);
  if (body.tools?.length) throw new BadRequest("tools are not supported on /v1/responses yet; call without tools.", "tools", "unsupported_parameter");
  rejectLogprobs(!!body.top_logprobs, "top_logprobs");
  rejectLogprobs(!!body.include?.includes("message.output_text.logprobs"), "include");
  const store = storeFor(deps);
  const llm = deps.engines().llm;

  const previous = body.previous_response_id ? store.get(body.previous_response_id) : undefined;
  if (body.previous_response_id && !previous) {
    throw new BadRequest(`Previous response with id '${body.previous_response_id}' not found (Hearth keeps the last ${KEPT_RESPONSES} responses until it restarts).`, "previous_response_id", "previous_response_not_found");
  }
  const conversation = [...(previous?.conversation ?? []), ...inputMessages(body, store)];
  const system: ChatMessage[] = body.instructions ? [{ role: "system", content: body.instructions }] : [];
  const options = chatOptions(body);
  const messages = fitContext(llm, system, conversation, body.truncation === "auto");

  const reservation = llm.reserve(); // a full queue is a 429 here, before a stream's 200
  req.signal.addEventListener("abort", () => reservation.release(), { once: true });
  const started = { id: `resp_${hex()}`, itemId: `msg_${hex()}`, createdAt: Math.floor(Date.now() / 1000) };
  const finish = (text: string, result: ChatResult) => {
    const object = responseObject(body, started, "done", text, result);
    if (body.store !== false) store.put({ object, conversation: [...conversation, { role: "assistant", content: text }] });
    metrics.countTurn("api");
    return object;
  };

  if (!body.stream) {
    let text = "";
    const result = await llm
      .chat(messages, { ...options, reservation, signal: req.signal }, (chunk) => (text += chunk))
      .finally(() => reservation.release());
    return Response.json(finish(text, result));
  }

  let sequence = 0; // every event is numbered, the error event too
  const event = (type: string, fields: object) => ({ type, sequence_number: sequence++, ...fields });
  return sseResponse(
    req,
    async (sse) => {
      const events = { send: (type: string, fields: object) => sse.send(event(type, fields), type) };
      const inProgress = responseObject(body, started, "in_progress", "", undefined);
      events.send("response.created", { response: inProgress });
      events.send("response.in_progress", { response: inProgress });
      const item = { id: started.itemId, type: "message", status: "in_progress", role: "assistant", content: [] };
      events.send("response.output_item.added", { output_index: 0, item });
      const where = { item_id: started.itemId, output_index: 0, content_index: 0 };
      events.send("response.content_part.added", { ...where, part: outputText("") });
      let text = "";
      const result = await llm
        .chat(messages, { ...options, reservation, signal: sse.signal }, (delta) => {
          if (!delta) return;
          text += delta;
          events.send("response.output_text.delta", { ...where, delta, logprobs: [] });
        })
        .finally(() => reservation.release());
      events.send("response.output_text.done", { ...where, text, logprobs: [] });
      events.send("response.content_part.done", { ...where, part: outputText(text) });
      const done = finish(text, result);
      events.send("response.output_item.done", { output_index: 0, item: done.output[0] });
      events.send(done.status === "completed" ? "response.completed" : "response.incomplete", { response: done });
    },
    // An error after the start: OpenAI's `error` event (the SDKs raise it), then the stream ends.
    { errorEvent: ({ error }) => ({ event: "error", data: event("error", { code: error.code, message: error.message, param: error.param }) }) },
  );
}

export function getResponse(req: Request & { params: Record<string, string> }, deps: ApiDeps): Response {
  const stored = storeFor(deps).get(req.params.id!);
  if (!stored) throw new NotFound(`No response with id '${req.params.id}' (Hearth keeps the last ${KEPT_RESPONSES} until it restarts).`, "response_id");
  return Response.json(stored.object);
}

export function deleteResponse(req: Request & { params: Record<string, string> }, deps: ApiDeps): Response {
  if (!storeFor(deps).delete(req.params.id!)) throw new NotFound(`No response with id '${req.params.id}'.`, "response_id");
  return Response.json({ id: req.params.id, object: "response", deleted: true });
}

/** `input` as chat messages: a string is one user message; items are messages or references to earlier outputs. */
function inputMessages(body: ResponseRequest, store: ResponseStore): ChatMessage[] {
  if (typeof body.input === "string") return [{ role: "user", content: body.input }];
  return body.input.map((item, i) => {
    if ("role" in item && (item.type === undefined || item.type === "message")) {
      const m = item as z.infer<typeof messageItem>;
      const content =
        typeof m.content === "string"
          ? m.content
          : m.content
              .map((part, j) => {
                if (part.type === "input_text" || part.type === "output_text" || part.type === "text") return part.text ?? "";
                throw new BadRequest(`Only text content is supported; got "${part.type}".`, `input[${i}].content[${j}].type`, "unsupported_content");
              })
              .join("");
      return { role: m.role === "developer" ? "system" : m.role, content };
    }
    if (item.type === "item_reference") {
      const referenced = item.id ? store.item(item.id) : undefined;
      if (!referenced) throw new BadRequest(`Item with id '${item.id}' not found (Hearth keeps the outputs of its last ${KEPT_RESPONSES} responses).`, `input[${i}].id`, "item_not_found");
      return referenced;
    }
    throw new BadRequest(`Input items of type "${item.type}" are not supported; send text messages.`, `input[${i}].type`, "unsupported_input_item");
  });
}

/**
 * The instructions plus the conversation, checked against the context. With `truncation: "auto"`
 * the oldest messages are dropped until it fits (never the last one), as OpenAI does.
 */
function fitContext(llm: Llm, system: ChatMessage[], conversation: ChatMessage[], truncate: boolean): ChatMessage[] {
  let kept = conversation;
  for (;;) {
    try {
      checkContextLength(llm, [...system, ...kept], "input");
      return [...system, ...kept];
    } catch (e) {
      if (!truncate || kept.length <= 1) throw e;
      kept = kept.slice(1);
    }
  }
}

function chatOptions(body: ResponseRequest): ChatOptions {
  const format = body.text?.format;
  return {
    maxTokens: body.max_output_tokens ?? undefined,
    temperature: body.temperature ?? undefined,
    topP: body.top_p ?? undefined,
    grammar: format?.type === "json_object" ? "json" : ((body as { grammar?: string }).grammar ?? undefined),
    jsonSchema: format?.type === "json_schema" ? grammarSchema(format.schema, "text.format.schema") : undefined,
  };
}

const outputText = (text: string) => ({ type: "output_text", text, annotations: [], logprobs: [] });

/** The `response` object in OpenAI's shape; "done" is completed, or incomplete when max_output_tokens cut it. */
function responseObject(body: ResponseRequest, started: { id: string; itemId: string; createdAt: number }, state: "in_progress" | "done", text: string, result: ChatResult | undefined) {
  const incomplete = state === "done" && result?.finishReason === "length";
  const status = state === "in_progress" ? "in_progress" : incomplete ? "incomplete" : "completed";
  return {
    id: started.id,
    object: "response",
    created_at: started.createdAt,
    status,
    background: false,
    error: null,
    incomplete_details: incomplete ? { reason: "max_output_tokens" } : null,
    instructions: body.instructions ?? null,
    max_output_tokens: body.max_output_tokens ?? null,
    model: body.model,
    output:
      state === "in_progress"
        ? []
        : [{ id: started.itemId, type: "message", status: incomplete ? "incomplete" : "completed", role: "assistant", content: [outputText(text)] }],
    parallel_tool_calls: true,
    previous_response_id: body.previous_response_id ?? null,
    reasoning: { effort: null, summary: null },
    store: body.store !== false,
    temperature: body.temperature ?? null,
    text: { format: body.text?.format ?? { type: "text" } },
    tool_choice: "auto",
    tools: [],
    top_p: body.top_p ?? null,
    truncation: body.truncation ?? "disabled",
    usage: result
      ? {
          input_tokens: result.promptTokens,
          input_tokens_details: { cached_tokens: 0 },
          output_tokens: result.completionTokens,
          output_tokens_details: { reasoning_tokens: 0 },
          total_tokens: result.promptTokens + result.completionTokens,
        }
      : null,
    user: body.user ?? null,
    metadata: body.metadata ?? {},
  };
}

function hex(): string {
  return crypto.randomUUID().replaceAll("-", "");
}
