// Function calling with node-llama-cpp: the tools a request offers as its functions, a chat wrapper
// that can force a call (tool_choice), and the calls collected as OpenAI tool calls.
import type { ChatModelFunctions, ChatWrapper, ChatWrapperGenerateContextStateOptions, ChatWrapperGeneratedContextState } from "node-llama-cpp";
import { BadRequest } from "../../errors.ts";
import type { ChatOptions, ToolCall, ToolCallDelta } from "../types.ts";

/**
 * The functions node-llama-cpp is given for a request, and whether the reply must start with a
 * call: "required" offers every tool and forces a call; a named tool offers only that one (the
 * call grammar then allows only its name); "none" offers none.
 */
export function toolPlan(opts: Pick<ChatOptions, "tools" | "toolChoice">): { functions?: ChatModelFunctions; force: boolean } {
  const choice = opts.toolChoice ?? "auto";
  if (!opts.tools?.length || choice === "none") return { force: false };
  const offered = typeof choice === "object" ? opts.tools.filter((t) => t.name === choice.name) : opts.tools;
  if (typeof choice === "object" && !offered.length) throw new BadRequest(`tool_choice names the function "${choice.name}", which is not among the tools.`, "tool_choice");
  const functions: ChatModelFunctions = Object.fromEntries(
    offered.map((t) => [t.name, { description: t.description, params: t.parameters as ChatModelFunctions[string]["params"] }]),
  );
  return { functions, force: choice !== "auto" };
}

/**
 * The chat wrapper node-llama-cpp chose for the model, with one switch: while `forceCall` is on,
 * its context state says function calling is "initially engaged" with nothing that disengages
 * it (node-llama-cpp's ChatWrapperGeneratedContextState contract), so node-llama-cpp puts the
 * call prefix in the context and the reply starts with a call: the function name constrained to
 * the offered functions, then the arguments to that function's parameters schema. Everything
 * else is the model's own wrapper (a prototype-chained view, so its settings and renderings are
 * unchanged; the rendered prompt is the same either way).
 */
export interface ToolChoiceWrapper extends ChatWrapper {
  forceCall: boolean;
}

export function toolChoiceWrapper(inner: ChatWrapper): ToolChoiceWrapper {
  const wrapper = Object.create(inner) as ToolChoiceWrapper;
  wrapper.forceCall = false;
  wrapper.generateContextState = function (this: ToolChoiceWrapper, options: ChatWrapperGenerateContextStateOptions): ChatWrapperGeneratedContextState {
    const state = inner.generateContextState.call(this, options);
    if (!this.forceCall || Object.keys(options.availableFunctions ?? {}).length === 0) return state;
    return {
      contextText: state.contextText,
      stopGenerationTriggers: state.stopGenerationTriggers,
      ignoreStartText: "ignoreStartText" in state ? state.ignoreStartText : undefined,
      functionCall: { initiallyEngaged: true, disengageInitiallyEngaged: [] },
    };
  };
  return wrapper;
}

/**
 * Tool calls as node-llama-cpp generates them, kept as ToolCalls and passed on as deltas for
 * streaming: the id and name first, then the arguments' text as it comes. The call grammar ends
 * the arguments with newlines that are not part of them, so trailing whitespace is held back
 * until something follows it.
 */
export class ToolCallCollector {
  private readonly calls: (ToolCall & { raw: string; done: boolean })[] = [];
  private completed = 0;

  constructor(private readonly onDelta?: (delta: ToolCallDelta) => void) {}

  readonly onParamsChunk = (chunk: { callIndex: number; functionName: string; paramsChunk: string }) => {
    const call = this.start(chunk.callIndex, chunk.functionName);
    call.raw += chunk.paramsChunk;
    this.advance(chunk.callIndex, call.raw.trimEnd());
  };

  readonly onCall = (functionCall: { functionName: string; params?: unknown }) => {
    const index = this.completed++;
    const call = this.start(index, functionCall.functionName);
    // A function without parameters generates no argument text.
    if (!call.arguments) this.advance(index, functionCall.params === undefined ? "{}" : JSON.stringify(functionCall.params));
    call.done = true;
  };

  /** The calls generated whole (a reply cut by max_tokens may end inside one). */
  complete(): ToolCall[] {
    return this.calls.filter((c) => c.done).map(({ id, name, arguments: args }) => ({ id, name, arguments: args }));
  }

  private start(index: number, name: string) {
    let call = this.calls[index];
    if (!call) {
      call = this.calls[index] = { id: `call_${crypto.randomUUID().replaceAll("-", "").slice(0, 24)}`, name, arguments: "", raw: "", done: false };
      this.onDelta?.({ index, id: call.id, name, arguments: "" });
    }
    return call;
  }

  private advance(index: number, text: string) {
    const call = this.calls[index]!;
    if (text.length <= call.arguments.length) return;
    const delta = text.slice(call.arguments.length);
    call.arguments = text;
    this.onDelta?.({ index, arguments: delta });
  }
}
