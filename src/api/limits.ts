// What the local LLM cannot do, said before any work starts (chat completions and responses).
import type { ChatMessage, Llm } from "../engines/types.ts";
import { BadRequest } from "../errors.ts";

/** node-llama-cpp's chat API gives no token probabilities, so asking for them is a 400, never a silent null. */
export function rejectLogprobs(requested: boolean, param: string) {
  if (requested) {
    throw new BadRequest(`${param} is not supported: the local model runtime does not report token log probabilities. Leave ${param} unset (or false/0).`, param, "unsupported_parameter");
  }
}

/**
 * A prompt that does not fit the conversation's share of the context is a 400
 * `context_length_exceeded`, as OpenAI answers, instead of the start of the conversation being
 * dropped silently. A reply that would run past the context stops there (finish_reason "length"),
 * so a large max_tokens is not an error. Returns the prompt's tokens.
 */
export function checkContextLength(llm: Llm, messages: ChatMessage[], param = "messages"): number {
  const limit = llm.tokensPerConversation;
  const prompt = llm.countPromptTokens(messages);
  if (prompt >= limit) {
    throw new BadRequest(
      `This model's maximum context length is ${limit} tokens. However, your messages resulted in ${prompt} tokens. Please reduce the length of the messages.`,
      param,
      "context_length_exceeded",
    );
  }
  return prompt;
}
