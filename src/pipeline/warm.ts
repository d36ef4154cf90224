// Warm prompts: the prompt a device's next turn starts with (system prompt, role persona,
// greeting, and the history so far) is evaluated into its conversation's LLM context before the
// child speaks: when the device logs in or connects, when its role changes, and after a restart
// for the devices that talked last. The first question then pays prefill only for its own words.
// The LLM runs these below every real request (Llm.preloadConversation): they never delay a turn.
import { conversationFileStem, conversationId, type ConversationKey } from "../conversations/key.ts";
import type { ConversationStore } from "../conversations/store.ts";
import type { Llm, PreloadResult } from "../engines/types.ts";
import { logger } from "../log.ts";
import type { DeviceControlsStore } from "./controls.ts";
import { buildMessages } from "./prompt.ts";
import { offeredTools, toolPromptTokens } from "./tool-loop.ts";
import type { TurnRunner } from "./turns.ts";
import type { DeviceTools } from "./types.ts";

const log = logger("llm");

export interface PromptWarmerDeps {
  llm: Llm;
  turns: Pick<TurnRunner, "role">;
  conversations: Pick<ConversationStore, "history" | "turns">;
  controls: Pick<DeviceControlsStore, "pause">;
  settings: {
    /** [llm] warm_prompts. */
    enabled: boolean;
    /** [toy] system_prompt (a role's own wins). */
    systemPrompt: string;
    /** [toy] reply_max_tokens: a device turn's reply length when the role sets none. */
    maxTokens: number;
  };
}

export class PromptWarmer {
  private readonly stopping = new AbortController();

  constructor(private readonly deps: PromptWarmerDeps) {}

  /**
   * Evaluates the prompt of the device's next turn, up to its new words: the role is resolved as
   * the turn resolves it, the messages (and the device tools offered) as the turn builds them
   * (runTurn, step 2): `tools` are the device's, as its turns get them. Never throws; undefined
   * when nothing was tried (switched off, a backend without preloading, a device its parent paused,
   * or device tools its role does not offer: that prompt was warmed without them).
   */
  async warm(key: ConversationKey, opts: { tools?: DeviceTools } = {}): Promise<PreloadResult | undefined> {
    const { llm, settings } = this.deps;
    if (!settings.enabled || !llm.preloadConversation || this.stopping.signal.aborted) return undefined;
    try {
      if (this.deps.controls.pause(key.frontEnd, key.device)) return undefined; // its turns will not reach the model
      const resolved = this.deps.turns.role(key);
      const conversation = { ...key, role: resolved.key };
      const maxTokens = resolved.role.max_tokens ?? settings.maxTokens;
      const tools = offeredTools(resolved.role, opts.tools, llm);
      // Tools the role does not offer leave the prompt as it was warmed without them.
      if (opts.tools && !tools.length) return undefined;
      const { messages } = buildMessages({
        role: resolved.role,
        systemPrompt: settings.systemPrompt,
        history: this.deps.conversations.history(conversation),
        transcript: "",
        countTokens: (t) => llm.countTokens(t),
        budgetTokens: llm.tokensPerConversation - maxTokens - (tools.length ? toolPromptTokens(llm, tools) : 0),
      });
      const started = performance.now();
      const result = await llm.preloadConversation(messages.slice(0, -1), {
        conversationId: conversationFileStem(conversation),
        tools: tools.length ? tools : undefined,
        signal: this.stopping.signal,
      });
      log.debug("warmed a conversation's prompt", { conversation: conversationId(conversation), ...result, ms: Math.round(performance.now() - started) });
      return result;
    } catch (e) {
      log.warn("cannot warm a conversation's prompt", { conversation: conversationId(key), error: (e as Error).message });
      return undefined;
    }
  }

  /**
   * After a start: warms the conversations of the `count` devices of these front ends that talked
   * last (their last turn's role), the most recent last, one after the other.
   */
  async warmRecent(frontEnds: string[], count: number): Promise<void> {
    const keys = new Map<string, ConversationKey>();
    for (const turn of this.deps.conversations.turns({ limit: 500 })) {
      if (keys.size >= count) break;
      const device = `${turn.key.frontEnd}:${turn.key.device}`;
      if (frontEnds.includes(turn.key.frontEnd) && !keys.has(device)) keys.set(device, turn.key);
    }
    for (const key of [...keys.values()].reverse()) await this.warm(key);
  }

  /** Stops the warming under way; no more start. */
  stop() {
    this.stopping.abort();
  }
}
