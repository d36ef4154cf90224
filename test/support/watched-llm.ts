// A real LLM as the pipeline sees it, with every chat and preload (and what came of it) noted: for
// checks of how much of a prompt was already evaluated. close() does not close the engine (it may be shared).
import type { ChatOptions, ChatResult, Llm, PreloadOptions, PreloadResult } from "../../src/engines/types.ts";

export function watchedLlm(llm: Llm) {
  const preloads: { opts: PreloadOptions; result: PreloadResult }[] = [];
  const chats: { opts: ChatOptions; result: ChatResult }[] = [];
  const spy: Llm = {
    id: llm.id,
    supportsTools: llm.supportsTools,
    countTokens: (text) => llm.countTokens(text),
    get tokensPerConversation() {
      return llm.tokensPerConversation;
    },
    get queueDepth() {
      return llm.queueDepth;
    },
    reserve: (opts) => llm.reserve(opts),
    countPromptTokens: (messages, tools) => llm.countPromptTokens(messages, tools),
    chat: async (messages, opts, onText) => {
      const result = await llm.chat(messages, opts, onText);
      chats.push({ opts, result });
      return result;
    },
    forgetConversation: (id) => llm.forgetConversation?.(id),
    preloadConversation: llm.preloadConversation
      ? async (prefix, opts) => {
          const result = await llm.preloadConversation!(prefix, opts);
          preloads.push({ opts, result });
          return result;
        }
      : undefined,
    close: async () => {},
  };
  return { spy, preloads, chats };
}
