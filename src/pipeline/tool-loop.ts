// Device tools in a turn. A role with `device_tools` lets the model call the tools of the device it
// speaks through (a xiaozhi device's MCP tools: its volume, its status). The reply is generated in
// rounds. A round's text is spoken as it streams, like any reply; when the round ends in a tool
// call, the call goes to the device (bounded by a timeout and by the turn's cancellation), the
// call and its result join the prompt, and the next round continues the same reply. The last
// round offers no tools, so a turn always ends in words. A failed call is a result the model reads
// ("error: ..."), never a failed turn.
import type { ChatMessage, ChatOptions, ChatResult, Llm, ToolCall, ToolCallRecord, ToolDefinition } from "../engines/types.ts";
import { Cancelled } from "../errors.ts";
import { logger } from "../log.ts";
import type { Role } from "./roles.ts";
import type { FirstClause } from "./sentences.ts";
import { replySentences, type ReplyText } from "./speak.ts";
import type { DeviceTool, DeviceTools, ToolCallNote } from "./types.ts";

const log = logger("turn");

/** LLM generations in one turn: the ones before the last may call tools; the last only speaks. */
export const MAX_TOOL_ROUNDS = 3;
export const DEFAULT_TOOL_CALL_TIMEOUT_MS = 5000;
/** Characters of a tool's answer the model reads (a stock device's status is about 300). */
const MAX_RESULT_CHARS = 1000;
/** Prompt room kept per round for a call and its result, on top of the tools' documentation. */
const TOKENS_PER_ROUND = 64;

/**
 * The device's tools the role lets the model call, as the LLM takes them. None (today's plain
 * reply) when the front end has no tools, the role allows none, the LLM backend cannot run
 * tools, or the role has a `grammar` (node-llama-cpp constrains either the text or the calls).
 */
export function offeredTools(role: Role, tools: DeviceTools | undefined, llm: Llm): ToolDefinition[] {
  if (!tools || !role.device_tools || (Array.isArray(role.device_tools) && role.device_tools.length === 0)) return [];
  if (!llm.supportsTools) {
    warnOnce("llm", "the role lets the model call device tools, but the LLM backend cannot run tools: the model answers without them");
    return [];
  }
  if (role.grammar) {
    warnOnce("grammar", "a role with a grammar cannot also let the model call device tools: the model answers without them");
    return [];
  }
  const allowed = role.device_tools === true ? undefined : new Set(role.device_tools);
  const out: ToolDefinition[] = [];
  for (const tool of tools.list()) {
    if (allowed && !allowed.has(tool.name)) continue;
    const definition = toolDefinition(tool);
    if (definition) out.push(definition);
    else warnOnce(`schema:${tool.name}`, "a device tool's arguments cannot be offered to the model (only text, number and yes/no arguments can): it is left out", { tool: tool.name });
  }
  return out;
}

/** Prompt tokens the offered tools take (their documentation, and room for the calls and results). */
export function toolPromptTokens(llm: Llm, tools: ToolDefinition[]): number {
  const probe: ChatMessage[] = [{ role: "user", content: "" }];
  const documentation = Math.max(0, llm.countPromptTokens(probe, { tools }) - llm.countPromptTokens(probe));
  return documentation + (MAX_TOOL_ROUNDS - 1) * TOKENS_PER_ROUND;
}

export interface ToolLoopInput {
  llm: Llm;
  messages: ChatMessage[];
  chat: ChatOptions;
  separators: string;
  /** The first round's reply may start at an early first clause (splitReply). */
  firstClause?: FirstClause;
  /** Stops generation and any call being waited for. */
  signal: AbortSignal;
  tools: DeviceTools;
  /** From offeredTools: non-empty. */
  offered: ToolDefinition[];
  /** Each call, once it has an outcome. */
  onCall(note: ToolCallNote): void;
}

/**
 * The reply as sentences across rounds, like replySentences: the text before a call is spoken
 * (it has already been streamed to the voice by the time the call is known), then what the model
 * says with the call's result. `result` sums the rounds' completion tokens; its prompt tokens
 * are the last round's.
 */
export function replyWithTools(input: ToolLoopInput): ReplyText {
  const done = Promise.withResolvers<ChatResult>();
  const sentences = (async function* () {
    const conversation = [...input.messages];
    const names = new Set(input.offered.map((t) => t.name));
    let completionTokens = 0;
    try {
      for (let round = 1; ; round++) {
        const mayCall = round < MAX_TOOL_ROUNDS;
        const options: ChatOptions = mayCall ? { ...input.chat, tools: input.offered, toolChoice: "auto", parallelToolCalls: false } : input.chat;
        const reply = replySentences(input.llm, [...conversation], options, input.separators, input.signal, round === 1 ? input.firstClause : undefined);
        reply.result.catch(() => {}); // a failure reaches us through the sentences
        const said: string[] = [];
        for await (const piece of reply.pieces) {
          said.push(piece.text);
          yield piece;
        }
        const result = await reply.result;
        completionTokens += result.completionTokens;
        const calls = mayCall ? (result.toolCalls ?? []) : [];
        if (!calls.length) {
          done.resolve({ finishReason: result.finishReason, promptTokens: result.promptTokens, completionTokens });
          return;
        }
        const answered: ToolCallRecord[] = [];
        for (const call of calls) {
          const note = await callDeviceTool(input.tools, call, names, input.signal, input.onCall);
          answered.push({ ...call, result: note.result });
        }
        conversation.push({ role: "assistant", content: said.join(" "), toolCalls: answered });
      }
    } catch (e) {
      done.reject(e);
      throw e;
    } finally {
      done.reject(new Cancelled("the reply was stopped")); // no-op once settled
    }
  })();
  return { pieces: sentences, result: done.promise };
}

/**
 * One call on the device: its outcome, with what the model is told (also given to `onCall`).
 * Throws only when the turn is cancelled (the call is then noted as "cancelled").
 */
async function callDeviceTool(tools: DeviceTools, call: ToolCall, offered: Set<string>, signal: AbortSignal, onCall: (note: ToolCallNote) => void): Promise<ToolCallNote> {
  const started = Date.now();
  const note = (outcome: ToolCallNote["outcome"], result: string): ToolCallNote => {
    const n = { name: call.name, arguments: call.arguments, outcome, result, ms: Date.now() - started };
    log.info("device tool called", { tool: n.name, arguments: n.arguments, outcome, result: truncate(result, 200), ms: n.ms });
    onCall(n);
    return n;
  };
  const args = parseArguments(call.arguments);
  if (!args) return note("error", "error: the arguments were not a JSON object");
  if (!offered.has(call.name)) return note("error", `error: there is no tool named ${call.name}`);
  if (signal.aborted) throw cancelReason(signal);

  const timeoutMs = tools.callTimeoutMs ?? DEFAULT_TOOL_CALL_TIMEOUT_MS;
  const stop = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    stop.abort(new Cancelled(`the device did not answer within ${timeoutMs} ms`));
  }, timeoutMs);
  const onAbort = () => stop.abort(signal.reason);
  signal.addEventListener("abort", onAbort, { once: true });
  // A provider that ignores the signal still cannot hold the turn: the wait ends with it.
  const stopped = new Promise<never>((_, reject) => stop.signal.addEventListener("abort", () => reject(stop.signal.reason), { once: true }));
  stopped.catch(() => {});
  try {
    const answer = await Promise.race([tools.call(call.name, args, stop.signal), stopped]);
    const text = truncate(answer.text, MAX_RESULT_CHARS);
    return answer.isError ? note("error", `error: ${text}`) : note("ok", text);
  } catch (e) {
    if (signal.aborted) {
      note("cancelled", "the turn was stopped before the device answered");
      throw cancelReason(signal);
    }
    if (timedOut) return note("timeout", `error: the device did not answer within ${Math.round(timeoutMs / 100) / 10} s`);
    return note("error", `error: ${(e as Error).message}`);
  } finally {
    clearTimeout(timer);
    signal.removeEventListener("abort", onAbort);
  }
}

/**
 * A tool's arguments as the device takes them, in the subset the call grammar enforces: an object
 * of text, number, integer and yes/no values (what the firmware's tools have). An integer's range
 * cannot be enforced, so it is told in the description (the device checks it). Undefined when the
 * schema has anything else.
 */
function toolDefinition(tool: DeviceTool): ToolDefinition | undefined {
  const base = { name: tool.name, ...(tool.description ? { description: tool.description } : {}) };
  const schema = tool.inputSchema;
  if (schema === undefined || schema === null) return base;
  if (!isObject(schema) || (schema.type !== undefined && schema.type !== "object")) return undefined;
  const props = schema.properties ?? {};
  if (!isObject(props)) return undefined;
  const properties: Record<string, object> = {};
  for (const [name, property] of Object.entries(props)) {
    const converted = scalarSchema(property);
    if (!converted) return undefined;
    properties[name] = converted;
  }
  if (Object.keys(properties).length === 0) return base;
  const required = Array.isArray(schema.required) ? schema.required.filter((r): r is string => typeof r === "string" && r in properties) : [];
  return { ...base, parameters: { type: "object", properties, required, additionalProperties: false } };
}

function scalarSchema(property: unknown): object | undefined {
  if (!isObject(property)) return undefined;
  const { type, description } = property;
  const notes: string[] = typeof description === "string" && description ? [description] : [];
  if (Array.isArray(property.enum) && property.enum.length && property.enum.every((v) => ["string", "number", "boolean"].includes(typeof v))) {
    return { enum: property.enum, ...(notes.length ? { description: notes.join(" ") } : {}) };
  }
  if (type !== "string" && type !== "integer" && type !== "number" && type !== "boolean") return undefined;
  const out: Record<string, unknown> = { type };
  if (type === "string") {
    for (const key of ["minLength", "maxLength"]) if (Number.isInteger(property[key])) out[key] = property[key];
  }
  if (type === "integer" || type === "number") {
    const min = typeof property.minimum === "number" ? property.minimum : undefined;
    const max = typeof property.maximum === "number" ? property.maximum : undefined;
    if (min !== undefined && max !== undefined) notes.push(`From ${min} to ${max}.`);
    else if (min !== undefined) notes.push(`At least ${min}.`);
    else if (max !== undefined) notes.push(`At most ${max}.`);
  }
  if (notes.length) out.description = notes.join(" ");
  return out;
}

function parseArguments(text: string): Record<string, unknown> | undefined {
  try {
    const value = JSON.parse(text || "{}");
    return isObject(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

function cancelReason(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new Cancelled();
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}…`;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

const warned = new Set<string>();
function warnOnce(key: string, message: string, fields?: Record<string, unknown>) {
  if (warned.has(key)) return;
  warned.add(key);
  log.warn(message, fields);
}
