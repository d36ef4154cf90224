// POST /v1/chat/completions: streaming (SSE) and not, as OpenAI shapes them.
import { z } from "zod";
import { BadRequest, NotFound } from "../errors.ts";
import type { ChatMessage, ChatOptions, ChatResult, LlmReservation, ToolCall, ToolChoice } from "../engines/types.ts";
import { metrics } from "../metrics.ts";
import type { TurnRecord } from "../pipeline/types.ts";
import { readJson } from "../http/body.ts";
import type { ApiDeps } from "./deps.ts";
import { sseResponse } from "../http/sse.ts";
import { grammarSchema } from "./json-schema.ts";
import { rejectLogprobs } from "./limits.ts";
import { chatTool, chatToolChoice, checkContextWithTools, checkToolChoice, checkTools, checkToolsWithFormat, checkToolSupport, pairToolResults, toolDefinition, type HistoryEntry } from "./tools.ts";

const contentPart = z.object({ type: z.string(), text: z.string().optional() }).loose();
const toolCall = z.object({ id: z.string().min(1), type: z.literal("function").optional(), function: z.object({ name: z.string(), arguments: z.string() }).loose() }).loose();
const message = z
  .object({
    role: z.enum(["system", "developer", "user", "assistant", "tool"]),
    content: z.union([z.string(), z.array(contentPart), z.null()]).optional(),
    tool_calls: z.array(toolCall).nullish(),
    tool_call_id: z.string().optional(),
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
    logprobs: z.boolean().nullish(),
    top_logprobs: z.number().int().min(0).max(20).nullish(),
    response_format: z
      .discriminatedUnion("type", [
        z.object({ type: z.literal("text") }),
        z.object({ type: z.literal("json_object") }),
        z.object({ type: z.literal("json_schema"), json_schema: z.object({ name: z.string().optional(), schema: z.record(z.string(), z.unknown()) }).loose() }),
      ])
      .nullish(),
    tools: z.array(chatTool).nullish(),
    tool_choice: chatToolChoice.nullish(),
    parallel_tool_calls: z.boolean().nullish(),
  })
  .loose();

type ChatRequest = z.infer<typeof chatRequest>;

export async function chatCompletions(req: Request, deps: ApiDeps): Promise<Response> {
  const body = await readJson(req, chatRequest);
  if (body.n != null && body.n !== 1) throw new BadRequest("Only n=1 is supported.", "n");
  rejectLogprobs(!!body.logprobs, "logprobs");
  rejectLogprobs(!!body.top_logprobs, "top_logprobs");
  const engines = deps.engines();
  const messages = toMessages(body);
  const id = `chatcmpl-${crypto.randomUUID().replaceAll("-", "")}`;
  const created = Math.floor(Date.now() / 1000);
  const model = body.model;
  const options = chatOptions(body);
  const tools = toolOptions(body);
  const started = performance.now();
  const persona = ROLE_MODEL.exec(model);
  if (persona && tools.tools) throw new BadRequest("A role persona answers in plain text: tools are not supported with role:N models.", "tools");
  if (persona) return personaCompletion(req, deps, body, { id, created, role: persona[1]!, messages, options });

  checkToolSupport(engines.llm, tools.tools, "tools");
  checkToolsWithFormat(tools, options, body.response_format && body.response_format.type !== "text" ? "response_format" : "grammar");
  checkContextWithTools(engines.llm, messages, tools);
  // Admission before any answer: a full queue is a 429, streaming or not, before the 200 of a stream.
  const reservation = engines.llm.reserve();
  req.signal.addEventListener("abort", () => reservation.release(), { once: true });

  if (!body.stream) {
    let text = "";
    const result = await engines.llm
      .chat(messages, { ...options, ...tools, reservation, signal: req.signal }, (chunk) => (text += chunk))
      .finally(() => reservation.release());
    metrics.countTurn("api");
    const calls = result.toolCalls ?? [];
    const reply = calls.length
      ? { role: "assistant", content: text || null, refusal: null, tool_calls: calls.map(toolCallJson) }
      : { role: "assistant", content: text, refusal: null };
    return Response.json({
      id,
      object: "chat.completion",
      created,
      model,
      system_fingerprint: null,
      choices: [{ index: 0, message: reply, logprobs: null, finish_reason: finishReason(result) }],
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
  return sseResponse(req, async (sse) => {
    sse.send(chunk({ role: "assistant", content: "" }, null));
    const result = await engines.llm
      .chat(
        messages,
        {
          ...options,
          ...tools,
          reservation,
          signal: sse.signal,
          onPromptDone: () => metrics.observeStage("llm_first_token", (performance.now() - started) / 1000, "api"),
          // A call's id and name come first (with empty arguments), then the arguments in pieces, as OpenAI streams them.
          onToolCall: (d) =>
            sse.send(chunk({ tool_calls: [d.id ? { index: d.index, id: d.id, type: "function", function: { name: d.name, arguments: d.arguments } } : { index: d.index, function: { arguments: d.arguments } }] }, null)),
        },
        (text) => text && sse.send(chunk({ content: text }, null)),
      )
      .finally(() => reservation.release());
    sse.send(chunk({}, finishReason(result)));
    if (body.stream_options?.include_usage) {
      sse.send({ id, object: "chat.completion.chunk", created, model, system_fingerprint: null, choices: [], usage: usage(result) });
    }
    sse.send("[DONE]");
    metrics.countTurn("api");
  });
}

/** `"model": "role:3"`: a turn of the shared pipeline with that role's persona, voice settings and history. */
const ROLE_MODEL = /^role:(\d+)$/;
/** A persona turn has no toy waiting on it: only a stuck engine should end it. */
const PERSONA_TIMEOUT_MS = 10 * 60_000;

interface PersonaRequest {
  id: string;
  created: number;
  role: string;
  messages: ChatMessage[];
  options: ChatOptions;
}

/**
 * Hearth keeps the persona's conversation (keyed by `user`, default "default"), so only the last
 * user message is taken from the request; the reply streams sentence by sentence, as a toy hears it.
 */
async function personaCompletion(req: Request, deps: ApiDeps, body: ChatRequest, p: PersonaRequest): Promise<Response> {
  const { turns, roles } = deps.pipeline();
  if (!roles.current.roles[p.role]) {
    throw new NotFound(`roles.json has no role ${p.role}; GET /v1/models lists the role:N models.`, "model", "model_not_found");
  }
  if (p.options.grammar || p.options.jsonSchema) throw new BadRequest("A role persona answers in plain text: response_format and grammar are not supported with role:N models.", "response_format");
  const last = p.messages.findLast((m) => m.role === "user");
  if (!last?.content.trim()) throw new BadRequest("A role:N request needs a user message with text.", "messages");
  const model = body.model;
  const { grammar: _g, jsonSchema: _j, ...chat } = p.options;
  // The same admission as plain models: a full LLM queue is a 429 before the turn starts (and before a stream's 200).
  const reservation = deps.engines().llm.reserve();
  const turn = releasingOnThrow(reservation, () =>
    turns.start({
      key: { frontEnd: "api", device: body.user?.trim() || "default", role: p.role },
      input: { kind: "text", text: last.content },
      endedAt: Date.now(),
      id: p.id,
      speak: false,
      exclusive: null,
      timeoutMs: PERSONA_TIMEOUT_MS,
      chat: { ...chat, reservation },
    }),
  );
  void turn.finished.then(() => reservation.release()); // a turn that never reached the LLM gives the place back
  const onDisconnect = () => turn.cancel("the client went away");
  req.signal.addEventListener("abort", onDisconnect, { once: true });
  const usageOf = (record: TurnRecord) =>
    usage({ promptTokens: record.usage?.promptTokens ?? 0, completionTokens: record.usage?.completionTokens ?? 0, finishReason: record.usage?.finishReason ?? "stop" });
  const chunk = (delta: object, finish: string | null) => ({ id: p.id, object: "chat.completion.chunk", created: p.created, model, system_fingerprint: null, choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] });

  if (!body.stream) {
    const texts: string[] = [];
    for await (const event of turn.events) {
      if (event.type === "sentence") texts.push(event.text);
      if (event.type === "failed") throw event.error;
      if (event.type === "done") {
        return Response.json({
          id: p.id,
          object: "chat.completion",
          created: p.created,
          model,
          system_fingerprint: null,
          choices: [{ index: 0, message: { role: "assistant", content: texts.join(" "), refusal: null }, logprobs: null, finish_reason: event.record.usage?.finishReason ?? "stop" }],
          usage: usageOf(event.record),
        });
      }
    }
    throw new Error("the turn ended without a result");
  }
  return sseResponse(req, async (sse) => {
    sse.send(chunk({ role: "assistant", content: "" }, null));
    let first = true;
    for await (const event of turn.events) {
      if (event.type === "sentence") {
        sse.send(chunk({ content: (first ? "" : " ") + event.text }, null));
        first = false;
      }
      if (event.type === "failed") throw event.error;
      if (event.type === "done") {
        sse.send(chunk({}, event.record.usage?.finishReason ?? "stop"));
        if (body.stream_options?.include_usage) {
          sse.send({ id: p.id, object: "chat.completion.chunk", created: p.created, model, system_fingerprint: null, choices: [], usage: usageOf(event.record) });
        }
      }
    }
    sse.send("[DONE]");
  });
}

function releasingOnThrow<T>(reservation: LlmReservation, start: () => T): T {
  try {
    return start();
  } catch (e) {
    reservation.release();
    throw e;
  }
}

/**
 * The messages as the engine takes them: an assistant message's `tool_calls` and the `role:
 * "tool"` messages that answer them become the turn's tool calls with their results.
 */
function toMessages(body: ChatRequest): ChatMessage[] {
  const entries = body.messages.map((m, i): HistoryEntry => {
    const param = `messages.${i}`;
    const content =
      typeof m.content === "string"
        ? m.content
        : (m.content ?? [])
            .map((part) => {
              if (part.type !== "text") throw new BadRequest(`Only text content parts are supported; got "${part.type}".`, `${param}.content`);
              return part.text ?? "";
            })
            .join("");
    if (m.content === undefined && !(m.role === "assistant" && m.tool_calls?.length)) throw new BadRequest(`Missing required parameter: '${param}.content'.`, `${param}.content`);
    if (m.role === "tool") {
      if (!m.tool_call_id) throw new BadRequest(`Missing required parameter: '${param}.tool_call_id'.`, `${param}.tool_call_id`);
      return { role: "tool", callId: m.tool_call_id, content, param };
    }
    if (m.tool_calls?.length && m.role !== "assistant") throw new BadRequest(`Only assistant messages have tool_calls.`, `${param}.tool_calls`);
    const toolCalls = (m.tool_calls ?? []).map((c) => ({ id: c.id, name: c.function.name, arguments: c.function.arguments }));
    return { role: m.role === "developer" ? "system" : m.role, content, param, ...(toolCalls.length ? { toolCalls } : {}) };
  });
  return pairToolResults(entries);
}

/** The request's tools as the engine takes them (none when there are none). */
function toolOptions(body: ChatRequest): Pick<ChatOptions, "tools" | "toolChoice" | "parallelToolCalls"> {
  const tools = checkTools(
    (body.tools ?? []).map((t, i) => {
      if (t.type !== "function" || !t.function) throw new BadRequest(`Only function tools are supported; tools.${i} is "${t.type}".`, `tools.${i}.type`, "unsupported_parameter");
      return toolDefinition(t.function.name, t.function.description, t.function.parameters, `tools.${i}.function`);
    }),
    "tools",
  );
  const choice: ToolChoice | undefined = body.tool_choice == null ? undefined : typeof body.tool_choice === "string" ? body.tool_choice : { name: body.tool_choice.function.name };
  const toolChoice = checkToolChoice(choice, tools, "tool_choice");
  if (!tools.length) return {};
  return { tools, toolChoice, parallelToolCalls: body.parallel_tool_calls ?? undefined };
}

function toolCallJson(call: ToolCall) {
  return { id: call.id, type: "function", function: { name: call.name, arguments: call.arguments } };
}

/** "tool_calls" when the reply called tools, as OpenAI reports it. */
function finishReason(result: ChatResult): string {
  return result.toolCalls?.length ? "tool_calls" : result.finishReason;
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
    jsonSchema: format?.type === "json_schema" ? grammarSchema(format.json_schema.schema, "response_format.json_schema") : undefined,
  };
}

function usage(result: ChatResult) {
  return { prompt_tokens: result.promptTokens, completion_tokens: result.completionTokens, total_tokens: result.promptTokens + result.completionTokens };
}
