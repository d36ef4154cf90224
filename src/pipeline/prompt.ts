// The prompt of a turn: the role's preamble, as much history as fits, the new words.
import type { ChatMessage, ChatOptions } from "../engines/types.ts";
import type { Role } from "./roles.ts";

/** One earlier exchange of a conversation. */
export interface Exchange {
  user: string;
  assistant: string;
}

/** Tokens a chat template adds around each message (role markers, separators): a safe estimate. */
export const MESSAGE_OVERHEAD_TOKENS = 8;

export interface PromptInput {
  role: Role;
  /** [toy] system_prompt (the role's own system_prompt wins). */
  systemPrompt: string;
  history: readonly Exchange[];
  transcript: string;
  countTokens: (text: string) => number;
  /** Tokens the prompt may take: the conversation's share of the context minus the reply's max tokens. */
  budgetTokens: number;
}

/**
 * [system, user: role.prompt, assistant: role.start_text] (unless send_initial_messages is false),
 * then the newest earlier exchanges that fit both max_message_count and the token budget, then the transcript.
 */
export function buildMessages(input: PromptInput): { messages: ChatMessage[]; historyUsed: number } {
  const { role, transcript, countTokens } = input;
  const head: ChatMessage[] = [];
  if (role.send_initial_messages !== false) {
    const system = role.system_prompt ?? input.systemPrompt;
    if (system.trim()) head.push({ role: "system", content: system });
    if (role.prompt.trim()) head.push({ role: "user", content: role.prompt });
    if (role.start_text?.trim()) head.push({ role: "assistant", content: role.start_text });
  }
  const last: ChatMessage = { role: "user", content: transcript };
  const fixed = [...head, last].reduce((n, m) => n + countTokens(m.content) + MESSAGE_OVERHEAD_TOKENS, 0);
  const history = selectHistory(input.history, role.max_message_count ?? 0, input.budgetTokens - fixed, countTokens);
  const messages = [...head, ...history.flatMap((e): ChatMessage[] => [{ role: "user", content: e.user }, { role: "assistant", content: e.assistant }]), last];
  return { messages, historyUsed: history.length };
}

/**
 * The newest earlier exchanges to send: at most `maxCount`, and only as many as fit in
 * `budgetTokens` (a context overflow would stop replies altogether). Keeps order.
 */
export function selectHistory(history: readonly Exchange[], maxCount: number, budgetTokens: number, countTokens: (text: string) => number): Exchange[] {
  const out: Exchange[] = [];
  let left = budgetTokens;
  for (let i = history.length - 1; i >= 0 && out.length < maxCount; i--) {
    const e = history[i]!;
    const cost = countTokens(e.user) + countTokens(e.assistant) + 2 * MESSAGE_OVERHEAD_TOKENS;
    if (cost > left) break;
    left -= cost;
    out.push(e);
  }
  return out.reverse();
}

/** The chat options a role asks for. */
export function roleChatOptions(role: Role): ChatOptions {
  return {
    maxTokens: role.max_tokens,
    temperature: role.temperature,
    topP: role.top_p,
    frequencyPenalty: role.frequency_penalty,
    presencePenalty: role.presence_penalty,
    grammar: role.grammar,
  };
}
