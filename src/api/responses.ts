// POST /v1/responses (OpenAI's Responses API, the Vercel AI SDK's default), text in and text out
// plus function tools, streamed as OpenAI streams it or not; GET and DELETE /v1/responses/{id}.
// Earlier responses are kept in memory (bounded, lost on restart) so `previous_response_id` and
// `item_reference` work.
import { z } from "zod";
import type { ChatMessage, ChatOptions, ChatResult, Llm, ToolCall, ToolCallDelta, ToolChoice } from "../engines/types.ts";
import { BadRequest, NotFound } from "../errors.ts";
import { readJson } from "../http/body.ts";
import { sseResponse } from "../http/sse.ts";
import { metrics } from "../metrics.ts";
import type { ApiDeps } from "./deps.ts";
import { grammarSchema } from "./json-schema.ts";
import { rejectLogprobs } from "./limits.ts";
import { checkContextWithTools, checkToolChoice, checkTools, checkToolsWithFormat, checkToolSupport, pairToolResults, responsesTool, responsesToolChoice, toolDefinition, type HistoryEntry } from "./tools.ts";

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
    tools: z.array(responsesTool).nullish(),
    tool_choice: responsesToolChoice.nullish(),
    parallel_tool_calls: z.boolean().nullish(),
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

  /** An output item of an earlier response, as the assistant message it was (its text, or its tool call). */
  item(id: string): ChatMessage | undefined {
    for (const r of this.responses.values()) {
      const item = r.object.output.find((o) => o.id === id);
      if (item?.type === "message") return { role: "assistant", content: item.content.map((c) => c.text).join("") };
      if (item?.type === "function_call") return { role: "assistant", content: "", toolCalls: [{ id: item.call_id, name: item.name, arguments: item.arguments }] };
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
  const tools = toolOptions(body);
  rejectLogprobs(!!body.top_logprobs, "top_logprobs");
  rejectLogprobs(!!body.include?.includes("message.output_text.logprobs"), "include");
  const store = storeFor(deps);
  const llm = deps.engines().llm;

  const previous = body.previous_response_id ? store.get(body.previous_response_id) : undefined;
  if (body.previous_response_id && !previous) {
    throw new BadRequest(`Previous response with id '${body.previous_response_id}' not found (Hearth keeps the last ${KEPT_RESPONSES} responses until it restarts).`, "previous_response_id", "previous_response_not_found");
  }
  // The previous response's tool calls are answered by this input's function_call_output items.
  const conversation = pairToolResults([...(previous?.conversation ?? []), ...inputEntries(body, store)]);
  const system: ChatMessage[] = body.instructions ? [{ role: "system", content: body.instructions }] : [];
  const options = chatOptions(body);
  checkToolSupport(llm, tools.tools, "tools");
  checkToolsWithFormat(tools, options, body.text?.format && body.text.format.type !== "text" ? "text.format" : "grammar");
  const messages = fitContext(llm, system, conversation, body.truncation === "auto", tools);

  const reservation = llm.reserve(); // a full queue is a 429 here, before a stream's 200
  req.signal.addEventListener("abort", () => reservation.release(), { once: true });
  const started = { id: `resp_${hex()}`, itemId: `msg_${hex()}`, createdAt: Math.floor(Date.now() / 1000) };
  const finish = (output: OutputItems, result: ChatResult) => {
    const object = responseObject(body, started, "done", output.items(result), result);
    const calls = result.toolCalls ?? [];
    if (body.store !== false) store.put({ object, conversation: [...conversation, { role: "assistant", content: output.text, ...(calls.length ? { toolCalls: calls } : {}) }] });
    metrics.countTurn("api");
    return object;
  };

  if (!body.stream) {
    const output = new OutputItems(started.itemId);
    const result = await llm
      .chat(messages, { ...options, ...tools, reservation, signal: req.signal, onToolCall: output.onToolCall }, output.onText)
      .finally(() => reservation.release());
    return Response.json(finish(output, result));
  }

  let sequence = 0; // every event is numbered, the error event too
  const event = (type: string, fields: object) => ({ type, sequence_number: sequence++, ...fields });
  return sseResponse(
    req,
    async (sse) => {
      const events = { send: (type: string, fields: object) => sse.send(event(type, fields), type) };
      const inProgress = responseObject(body, started, "in_progress", [], undefined);
      events.send("response.created", { response: inProgress });
      events.send("response.in_progress", { response: inProgress });
      const output = new OutputItems(started.itemId, events.send);
      const result = await llm
        .chat(messages, { ...options, ...tools, reservation, signal: sse.signal, onToolCall: output.onToolCall }, output.onText)
        .finally(() => reservation.release());
      output.end(result);
      const done = finish(output, result);
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

/**
 * `input` as history entries: a string is one user message; items are messages, references to
 * earlier outputs, function calls and their outputs (paired up by pairToolResults).
 */
function inputEntries(body: ResponseRequest, store: ResponseStore): HistoryEntry[] {
  if (typeof body.input === "string") return [{ role: "user", content: body.input }];
  return body.input.map((item, i): HistoryEntry => {
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
      return { role: m.role === "developer" ? "system" : m.role, content, param: `input[${i}]` };
    }
    if (item.type === "item_reference") {
      const referenced = item.id ? store.item(item.id) : undefined;
      if (!referenced) throw new BadRequest(`Item with id '${item.id}' not found (Hearth keeps the outputs of its last ${KEPT_RESPONSES} responses).`, `input[${i}].id`, "item_not_found");
      return { ...referenced, param: `input[${i}]` };
    }
    if (item.type === "function_call") {
      const call = validate(functionCallItem, item, `input[${i}]`);
      return { role: "assistant", content: "", toolCalls: [{ id: call.call_id, name: call.name, arguments: call.arguments }], param: `input[${i}]` };
    }
    if (item.type === "function_call_output") {
      const result = validate(functionCallOutputItem, item, `input[${i}]`);
      const content =
        typeof result.output === "string"
          ? result.output
          : result.output
              .map((part, j) => {
                if (part.type === "input_text" || part.type === "output_text" || part.type === "text") return part.text ?? "";
                throw new BadRequest(`Only text tool output is supported; got "${part.type}".`, `input[${i}].output[${j}].type`, "unsupported_content");
              })
              .join("");
      return { role: "tool", callId: result.call_id, content, param: `input[${i}]` };
    }
    throw new BadRequest(`Input items of type "${item.type}" are not supported; send text messages.`, `input[${i}].type`, "unsupported_input_item");
  });
}

/**
 * The instructions plus the conversation, checked against the context. With `truncation: "auto"`
 * the oldest messages are dropped until it fits (never the last one), as OpenAI does.
 */
function fitContext(llm: Llm, system: ChatMessage[], conversation: ChatMessage[], truncate: boolean, tools: Pick<ChatOptions, "tools" | "toolChoice">): ChatMessage[] {
  let kept = conversation;
  for (;;) {
    try {
      checkContextWithTools(llm, [...system, ...kept], tools, "input");
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

const functionCallItem = z.object({ call_id: z.string().min(1), name: z.string(), arguments: z.string() }).loose();
const functionCallOutputItem = z.object({ call_id: z.string().min(1), output: z.union([z.string(), z.array(textPart)]) }).loose();

function validate<T extends z.ZodType>(schema: T, value: unknown, param: string): z.infer<T> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const where = [param, ...issue.path.map(String)].join(".");
  throw new BadRequest(`Invalid '${where}': ${issue.message}.`, where);
}

/** The request's function tools as the engine takes them (none when there are none). */
function toolOptions(body: ResponseRequest): Pick<ChatOptions, "tools" | "toolChoice" | "parallelToolCalls"> {
  const tools = checkTools(
    (body.tools ?? []).map((t, i) => {
      if (t.type !== "function") throw new BadRequest(`Only function tools are supported; tools[${i}] is "${t.type}".`, `tools[${i}].type`, "unsupported_parameter");
      if (!t.name) throw new BadRequest(`Missing required parameter: 'tools[${i}].name'.`, `tools[${i}].name`);
      return toolDefinition(t.name, t.description, t.parameters, `tools[${i}]`);
    }),
    "tools",
  );
  const given = body.tool_choice;
  let choice: ToolChoice | undefined;
  if (typeof given === "string" || given == null) choice = given ?? undefined;
  else if (given.type === "function" && given.name) choice = { name: given.name };
  else throw new BadRequest(`tool_choice ${JSON.stringify(given)} is not supported: use "auto", "none", "required" or {"type": "function", "name": ...}.`, "tool_choice", "unsupported_parameter");
  const toolChoice = checkToolChoice(choice, tools, "tool_choice");
  if (!tools.length) return {};
  return { tools, toolChoice, parallelToolCalls: body.parallel_tool_calls ?? undefined };
}

const outputText = (text: string) => ({ type: "output_text", text, annotations: [], logprobs: [] });

type MessageItem = { id: string; type: "message"; status: string; role: "assistant"; content: ReturnType<typeof outputText>[] };
type FunctionCallItem = { id: string; type: "function_call"; status: string; arguments: string; call_id: string; name: string };
type OutputItem = MessageItem | FunctionCallItem;

/**
 * A reply's output items as they are generated: the message (opened at its first text) and a
 * function_call item per tool call, in order. With `send`, it streams OpenAI's events for them
 * (added, deltas, done); `items` gives the finished list for the response object.
 */
class OutputItems {
  text = "";
  private readonly order: ({ kind: "message" } | { kind: "call"; index: number })[] = [];
  private readonly calls = new Map<number, { itemId: string; callId: string; name: string; arguments: string; outputIndex: number }>();
  private messageIndex = -1;
  private messageOpen = false;

  constructor(
    private readonly messageId: string,
    private readonly send?: (type: string, fields: object) => void,
  ) {}

  readonly onText = (delta: string) => {
    if (!delta) return;
    this.openMessage();
    this.text += delta;
    this.send?.("response.output_text.delta", { ...this.where(), delta, logprobs: [] });
  };

  readonly onToolCall = (delta: ToolCallDelta) => {
    if (delta.id) {
      this.closeMessage("completed");
      const call = { itemId: `fc_${hex()}`, callId: delta.id, name: delta.name ?? "", arguments: "", outputIndex: this.order.length };
      this.calls.set(delta.index, call);
      this.order.push({ kind: "call", index: delta.index });
      this.send?.("response.output_item.added", { output_index: call.outputIndex, item: this.callItem(call, "in_progress") });
    }
    const call = this.calls.get(delta.index);
    if (!call || !delta.arguments) return;
    call.arguments += delta.arguments;
    this.send?.("response.function_call_arguments.delta", { item_id: call.itemId, output_index: call.outputIndex, delta: delta.arguments });
  };

  /** Closes what is open (streaming); a reply with neither text nor calls still has its (empty) message. */
  end(result: ChatResult) {
    if (this.order.length === 0) this.openMessage();
    this.closeMessage(result.finishReason === "length" ? "incomplete" : "completed");
    const complete = new Set((result.toolCalls ?? []).map((c) => c.id));
    for (const call of this.calls.values()) {
      const status = complete.has(call.callId) ? "completed" : "incomplete";
      this.send?.("response.function_call_arguments.done", { item_id: call.itemId, output_index: call.outputIndex, name: call.name, arguments: call.arguments });
      this.send?.("response.output_item.done", { output_index: call.outputIndex, item: this.callItem(call, status) });
    }
  }

  items(result: ChatResult): OutputItem[] {
    const complete = new Map((result.toolCalls ?? []).map((c: ToolCall) => [c.id, c]));
    if (this.order.length === 0) this.order.push({ kind: "message" });
    return this.order.map((o): OutputItem => {
      if (o.kind === "message") return this.messageItem(result.finishReason === "length" && complete.size === 0 ? "incomplete" : "completed");
      const call = this.calls.get(o.index)!;
      const done = complete.get(call.callId);
      return this.callItem(done ? { ...call, arguments: done.arguments } : call, done ? "completed" : "incomplete");
    });
  }

  private openMessage() {
    if (this.messageOpen || this.messageIndex >= 0) return;
    this.messageOpen = true;
    this.messageIndex = this.order.length;
    this.order.push({ kind: "message" });
    this.send?.("response.output_item.added", { output_index: this.messageIndex, item: { id: this.messageId, type: "message", status: "in_progress", role: "assistant", content: [] } });
    this.send?.("response.content_part.added", { ...this.where(), part: outputText("") });
  }

  private closeMessage(status: string) {
    if (!this.messageOpen) return;
    this.messageOpen = false;
    this.send?.("response.output_text.done", { ...this.where(), text: this.text, logprobs: [] });
    this.send?.("response.content_part.done", { ...this.where(), part: outputText(this.text) });
    this.send?.("response.output_item.done", { output_index: this.messageIndex, item: this.messageItem(status) });
  }

  private where() {
    return { item_id: this.messageId, output_index: this.messageIndex, content_index: 0 };
  }

  private messageItem(status: string): MessageItem {
    return { id: this.messageId, type: "message", status, role: "assistant", content: [outputText(this.text)] };
  }

  private callItem(call: { itemId: string; callId: string; name: string; arguments: string }, status: string): FunctionCallItem {
    return { id: call.itemId, type: "function_call", status, arguments: call.arguments, call_id: call.callId, name: call.name };
  }
}

/** The `response` object in OpenAI's shape; "done" is completed, or incomplete when max_output_tokens cut it. */
function responseObject(body: ResponseRequest, started: { id: string; itemId: string; createdAt: number }, state: "in_progress" | "done", output: OutputItem[], result: ChatResult | undefined) {
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
    output,
    parallel_tool_calls: body.parallel_tool_calls ?? true,
    previous_response_id: body.previous_response_id ?? null,
    reasoning: { effort: null, summary: null },
    store: body.store !== false,
    temperature: body.temperature ?? null,
    text: { format: body.text?.format ?? { type: "text" } },
    tool_choice: body.tool_choice ?? "auto",
    tools: body.tools ?? [],
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
