// node-llama-cpp's side of a chat request: Hearth's messages as its chat history, how much of a
// prompt a sequence already held, and the penalties a request asks for.
import { isChatModelResponseFunctionCall, type ChatHistoryItem, type ChatModelFunctionCall, type Token } from "node-llama-cpp";
import type { ChatMessage, ChatOptions } from "../types.ts";

/**
 * Messages as node-llama-cpp's chat history. An assistant message's tool calls (with their
 * results) follow its text in the same model turn, and the text of the assistant message after
 * them continues that turn: that is how the chat wrappers render a call, its result and the
 * answer that uses it.
 */
export function toHistory(messages: ChatMessage[]): ChatHistoryItem[] {
  const history: ChatHistoryItem[] = [];
  for (const m of messages) {
    if (m.role !== "assistant") {
      history.push({ type: m.role, text: m.content });
      continue;
    }
    const calls: ChatModelFunctionCall[] = (m.toolCalls ?? []).map((call) => ({
      type: "functionCall",
      name: call.name,
      params: parseJson(call.arguments, {}),
      result: call.result === undefined ? undefined : parseJson(call.result, call.result),
    }));
    const previous = history.at(-1);
    if (previous?.type === "model" && isChatModelResponseFunctionCall(previous.response.at(-1))) {
      previous.response.push(...(m.content ? [m.content] : []), ...calls);
    } else {
      history.push({ type: "model", response: calls.length ? [...(m.content ? [m.content] : []), ...calls] : [m.content] });
    }
  }
  return history;
}

/**
 * Prompt tokens a request found in its sequence: generateResponse keeps what the sequence held up
 * to the first token that differs and evaluates the rest (at least the prompt's last token).
 */
export function reusedPromptTokens(before: Token[], after: Token[], promptTokens: number): number {
  let n = 0;
  while (n < before.length && n < after.length && before[n] === after[n]) n++;
  return Math.max(0, Math.min(n, promptTokens - 1));
}

/**
 * OpenAI's penalties and nothing else. node-llama-cpp's default (an omitted `repeatPenalty`) is a
 * 1.1 repeat penalty over the last 64 tokens, which no request asked for: it changes the text
 * and, over Qwen's 151,936-token vocabulary, costs ~0.5 ms of sampling per token (bench/README.md,
 * stand-in section). `penalty: 1` keeps that multiplicative penalty off when frequency or presence
 * penalties are given, as llama-server does by default.
 */
export function repeatPenalty(opts: Pick<ChatOptions, "frequencyPenalty" | "presencePenalty">) {
  if (!opts.frequencyPenalty && !opts.presencePenalty) return false as const;
  return { penalty: 1, frequencyPenalty: opts.frequencyPenalty || undefined, presencePenalty: opts.presencePenalty || undefined };
}

function parseJson(text: string, fallback: unknown): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return fallback;
  }
}
