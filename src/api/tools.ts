// Function tools for chat completions and responses: the definitions and the choice, checked
// before any work starts, and the tool calls and results of a conversation's history paired up
// as the engine takes them (an assistant turn's calls, each with what the tool answered).
import { z } from "zod";
import type { ChatMessage, ChatOptions, Llm, ToolCallRecord, ToolChoice, ToolDefinition } from "../engines/types.ts";
import { BadRequest } from "../errors.ts";
import { grammarSchema } from "./json-schema.ts";
import { checkContextLength } from "./limits.ts";

/** OpenAI's rule for function names. */
const NAME = /^[a-zA-Z0-9_-]{1,64}$/;

export const chatTool = z.object({ type: z.string(), function: z.object({ name: z.string(), description: z.string().nullish(), parameters: z.unknown().optional(), strict: z.boolean().nullish() }).loose().optional() }).loose();
export const chatToolChoice = z.union([
  z.enum(["auto", "none", "required"]),
  z.object({ type: z.literal("function"), function: z.object({ name: z.string() }).loose() }).loose(),
]);

export const responsesTool = z
  .object({ type: z.string(), name: z.string().optional(), description: z.string().nullish(), parameters: z.unknown().optional(), strict: z.boolean().nullish() })
  .loose();
export const responsesToolChoice = z.union([z.enum(["auto", "none", "required"]), z.object({ type: z.string(), name: z.string().optional() }).loose()]);

/** One function tool as the engine takes it; `param` names where it came from (for 400s). */
export function toolDefinition(name: string, description: string | null | undefined, parameters: unknown, param: string): ToolDefinition {
  if (!NAME.test(name)) throw new BadRequest(`Invalid '${param}.name': "${name}" must be 1 to 64 letters, digits, underscores or dashes.`, `${param}.name`);
  return { name, ...(description ? { description } : {}), ...functionParameters(parameters, `${param}.parameters`) };
}

/** Absent or `{}` parameters: a function without arguments (called with `{}`); otherwise an object schema the grammar enforces. */
function functionParameters(parameters: unknown, param: string): { parameters?: object } {
  if (parameters == null || (isObject(parameters) && Object.keys(parameters).length === 0)) return {};
  if (!isObject(parameters)) throw new BadRequest(`Invalid '${param}': the parameters must be a JSON Schema object.`, param, "invalid_function_parameters");
  const type = parameters.type;
  if (type !== undefined && type !== "object") throw new BadRequest(`Invalid '${param}': the parameters schema must have "type": "object"; got ${JSON.stringify(type)}.`, param, "invalid_function_parameters");
  return { parameters: grammarSchema({ type: "object", ...parameters }, param) };
}

/** Tool definitions checked as a set: names are unique. */
export function checkTools(tools: ToolDefinition[], param: string): ToolDefinition[] {
  const seen = new Set<string>();
  for (const [i, t] of tools.entries()) {
    if (seen.has(t.name)) throw new BadRequest(`Invalid '${param}': the function name "${t.name}" is used twice.`, `${param}.${i}`);
    seen.add(t.name);
  }
  return tools;
}

/** A choice that names a function must name one of the tools; "required" or a name needs tools ("auto" and "none" do not). */
export function checkToolChoice(choice: ToolChoice | undefined, tools: ToolDefinition[], param: string): ToolChoice | undefined {
  if (choice === undefined || (!tools.length && (choice === "auto" || choice === "none"))) return undefined;
  if (!tools.length) throw new BadRequest(`Invalid '${param}': tool_choice ${JSON.stringify(typeof choice === "object" ? choice.name : choice)} needs tools; none were given.`, param);
  if (typeof choice === "object" && !tools.some((t) => t.name === choice.name)) {
    throw new BadRequest(`Invalid '${param}': the function "${choice.name}" is not among the tools (${tools.map((t) => t.name).join(", ")}).`, param);
  }
  return choice;
}

/** A tool's answer in the history, for the call with `callId`; `param` names it in errors. */
export interface ToolResultEntry {
  role: "tool";
  callId: string;
  content: string;
  param: string;
}

/** A message of the history, or an assistant message's tool call or a tool's answer as separate entries. */
export type HistoryEntry = (ChatMessage & { param?: string }) | ToolResultEntry;

/**
 * The history as the engine takes it: each tool answer goes to the call it answers, and the
 * calls of consecutive assistant entries (a text, then calls, as the Responses API lists them)
 * make one turn. Every call must be answered before the conversation goes on, and every answer
 * must answer a call, as OpenAI requires (else a 400 naming the entry). Entries are not changed.
 */
export function pairToolResults(entries: HistoryEntry[]): ChatMessage[] {
  const out: ChatMessage[] = [];
  let open: { message: ChatMessage; pending: Map<string, ToolCallRecord> } | undefined;
  const unanswered = (param: string | undefined) => {
    if (!open || open.pending.size === 0) return;
    const ids = [...open.pending.keys()].join(", ");
    throw new BadRequest(`An assistant message with tool calls must be followed by the tools' results for each call; no result was given for ${ids}.`, param ?? "messages", "tool_result_missing");
  };
  for (const entry of entries) {
    if (entry.role === "tool") {
      const call = open?.pending.get(entry.callId);
      if (!call) {
        throw new BadRequest(`The tool result for '${entry.callId}' answers no tool call of the assistant message before it.`, entry.param, "tool_call_not_found");
      }
      call.result = entry.content;
      open!.pending.delete(entry.callId);
      continue;
    }
    const { param, ...message } = entry;
    const calls = (message.toolCalls ?? []).map((c) => ({ ...c }));
    const last = out.at(-1);
    // Calls listed after an assistant text (or after other calls not answered yet) belong to that turn.
    if (message.role === "assistant" && !message.content && calls.length && last?.role === "assistant" && open?.message === last && (open.pending.size > 0 || !last.toolCalls?.length)) {
      last.toolCalls = [...(last.toolCalls ?? []), ...calls];
      for (const c of calls) open.pending.set(c.id, c);
      continue;
    }
    unanswered(param);
    const copy: ChatMessage = calls.length ? { ...message, toolCalls: calls } : { role: message.role, content: message.content };
    out.push(copy);
    open = message.role === "assistant" ? { message: copy, pending: new Map(calls.filter((c) => c.result === undefined).map((c) => [c.id, c])) } : undefined;
  }
  unanswered(undefined);
  return out;
}

/**
 * node-llama-cpp constrains generation with the tool-call grammar or with a response grammar, not
 * both: with tools the model may call, a response format or grammar is a 400 naming `param`. A
 * forced call (required, a named function) has no text for the format to shape, so it is allowed.
 */
export function checkToolsWithFormat(tools: Pick<ChatOptions, "tools" | "toolChoice">, options: Pick<ChatOptions, "grammar" | "jsonSchema">, param: string) {
  const choice = tools.toolChoice ?? "auto";
  if (tools.tools?.length && choice === "auto" && (options.grammar || options.jsonSchema)) {
    throw new BadRequest(
      `${param} cannot be combined with tools the model may call: the local runtime constrains generation with one grammar, for the tool calls or for the text. Use tool_choice "none" for formatted text, or force a call.`,
      param,
      "unsupported_parameter",
    );
  }
}

/** checkContextLength, counting the tools' documentation in the prompt too. */
export function checkContextWithTools(llm: Llm, messages: ChatMessage[], tools: Pick<ChatOptions, "tools" | "toolChoice">, param = "messages"): number {
  if (!tools.tools?.length) return checkContextLength(llm, messages, param);
  const counting = { tokensPerConversation: llm.tokensPerConversation, countPromptTokens: (m: ChatMessage[]) => llm.countPromptTokens(m, tools) };
  return checkContextLength(counting as unknown as Llm, messages, param);
}

/** Tools need a backend that runs them: a 400 rather than tools silently ignored. */
export function checkToolSupport(llm: Llm, tools: ToolDefinition[] | undefined, param: string) {
  if (tools?.length && !llm.supportsTools) {
    throw new BadRequest("The configured language model backend does not run tools; call without tools, or use the local backend ([llm] backend = \"local\").", param, "unsupported_parameter");
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
