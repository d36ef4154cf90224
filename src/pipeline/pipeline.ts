// Everything every front end shares: the engines, voices, roles, stored conversations, fixed
// lines and the turn runner. app.ts builds it once the engines are loaded.
import { join } from "node:path";
import type { LoadedConfig } from "../config/load.ts";
import { ConversationStore } from "../conversations/store.ts";
import type { AudioChunk, Engines } from "../engines/types.ts";
import { DeviceControlsStore } from "./controls.ts";
import { SpokenLines } from "./lines.ts";
import { switchDeviceRole, type RoleSwitch } from "./role-switch.ts";
import { RolesFile } from "./roles.ts";
import { collectAudio } from "./speak.ts";
import { TurnRunner } from "./turns.ts";
import { Voices } from "./voices.ts";
import { PromptWarmer } from "./warm.ts";

export interface Pipeline {
  engines: Engines;
  voices: Voices;
  roles: RolesFile;
  conversations: ConversationStore;
  lines: SpokenLines;
  controls: DeviceControlsStore;
  turns: TurnRunner;
  /** Evaluates a device's prompt into the LLM's context before it speaks ([llm] warm_prompts; warm.ts). */
  warmer: PromptWarmer;
  /**
   * A parent chose the role a device talks as (undefined: the device's own choice again), from its
   * next turn on; the one place a device's role is switched from outside it (role-switch.ts).
   */
  switchRole(frontEnd: string, device: string, role: string | undefined): RoleSwitch;
  /** Speaks a text once (a greeting, an integration's iwantplay), whole. */
  say(text: string, voice: string, speed?: number): Promise<AudioChunk | undefined>;
  stop(): Promise<void>;
}

const SWEEP_MS = 3600_000;

export function startPipeline(config: LoadedConfig, engines: Engines): Pipeline {
  const voices = new Voices(engines.tts, { defaultVoice: config.tts.default_voice, voiceMap: config.tts.voice_map });
  const roles = new RolesFile(config.toy.roles_file);
  roles.load();
  roles.watch();
  const conversations = new ConversationStore({
    dir: join(config.state.dir, "conversations"),
    retentionDays: config.conversations.retention_days,
    maxExchanges: config.conversations.max_exchanges,
    maxTurns: config.conversations.max_turns,
  });
  conversations.load();
  conversations.startSweeping(SWEEP_MS);
  const lines = new SpokenLines(engines.tts);
  const controls = new DeviceControlsStore(join(config.state.dir, "devices.json"), {
    quietHours: config.parental.quiet_hours,
    dailyLimitMinutes: config.parental.daily_limit_minutes,
  });
  controls.load();
  const turns = new TurnRunner({
    engines,
    voices,
    lines,
    conversations,
    controls,
    roles: () => roles.current,
    settings: {
      systemPrompt: config.toy.system_prompt,
      separators: config.toy.sentence_separators,
      firstClauseWords: config.toy.first_clause_words,
      maxTokens: config.toy.reply_max_tokens,
      maxTurnMs: config.toy.max_turn_seconds * 1000,
      replyTimeoutMs: config.toy.reply_timeout_seconds * 1000,
      heardNothingLine: config.toy.heard_nothing_reply,
      safety: { level: config.safety.level, categories: config.safety.categories, blockedPhrases: config.safety.blocked_phrases },
    },
  });
  const warmer = new PromptWarmer({
    llm: engines.llm,
    turns,
    conversations,
    controls,
    settings: { enabled: config.llm.warm_prompts, systemPrompt: config.toy.system_prompt, maxTokens: config.toy.reply_max_tokens },
  });
  return {
    engines,
    voices,
    roles,
    conversations,
    lines,
    controls,
    turns,
    warmer,
    switchRole(frontEnd, device, role) {
      const change = switchDeviceRole({ controls, turns, conversations, llm: engines.llm, roles: () => roles.current }, frontEnd, device, role);
      if (role !== undefined && change.previous !== role) void warmer.warm({ frontEnd, device, role });
      return change;
    },
    say: (text, voice, speed) => collectAudio(engines.tts.synthesize(text, { voice, speed })),
    async stop() {
      warmer.stop();
      await turns.stop();
      roles.close();
      conversations.stop();
    },
  };
}
