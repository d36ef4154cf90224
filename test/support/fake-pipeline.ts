// A real pipeline (runner, roles, conversations, voices) on fake engines, in a temporary folder.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConversationStore } from "../../src/conversations/store.ts";
import { DeviceControlsStore } from "../../src/pipeline/controls.ts";
import { SpokenLines } from "../../src/pipeline/lines.ts";
import type { Pipeline } from "../../src/pipeline/pipeline.ts";
import { switchDeviceRole } from "../../src/pipeline/role-switch.ts";
import { RolesFile } from "../../src/pipeline/roles.ts";
import { collectAudio } from "../../src/pipeline/speak.ts";
import { TurnRunner } from "../../src/pipeline/turns.ts";
import { Voices } from "../../src/pipeline/voices.ts";
import { PromptWarmer } from "../../src/pipeline/warm.ts";
import { fakeEngines } from "./fake-engines.ts";

export const FAKE_ROLES = {
  "1": { prompt: "You are a rabbit.", start_text: "Hi, I am a rabbit.", max_message_count: 4, language: "en" },
  "2": { prompt: "你是一只熊猫。", max_message_count: 4, language: "zh" },
};

export function fakePipeline(opts: { stateDir?: string; replyTimeoutMs?: number; maxTurnMs?: number; roles?: object; separators?: string; firstClauseWords?: number } = {}) {
  const stateDir = opts.stateDir ?? mkdtempSync(join(tmpdir(), "hearth-pipeline-"));
  const fakes = fakeEngines();
  writeFileSync(join(stateDir, "roles.json"), JSON.stringify(opts.roles ?? FAKE_ROLES));
  const roles = new RolesFile(join(stateDir, "roles.json"));
  roles.load();
  const conversations = new ConversationStore({ dir: join(stateDir, "conversations"), retentionDays: 30, maxExchanges: 50, maxTurns: 100 });
  conversations.load();
  const voices = new Voices(fakes.engines.tts, { defaultVoice: "", voiceMap: {} });
  const lines = new SpokenLines(fakes.engines.tts);
  const controls = new DeviceControlsStore(join(stateDir, "devices.json"), { quietHours: [], dailyLimitMinutes: 0 });
  const turns = new TurnRunner({
    engines: fakes.engines,
    voices,
    lines,
    conversations,
    controls,
    roles: () => roles.current,
    settings: { systemPrompt: "Be kind.", separators: opts.separators ?? ".!?", firstClauseWords: opts.firstClauseWords ?? 0, maxTokens: 100, replyTimeoutMs: opts.replyTimeoutMs ?? 10_000, maxTurnMs: opts.maxTurnMs ?? 60_000, heardNothingLine: true, safety: {} },
  });
  const pipeline: Pipeline = {
    engines: fakes.engines,
    voices,
    roles,
    conversations,
    lines,
    controls,
    turns,
    warmer: new PromptWarmer({ llm: fakes.engines.llm, turns, conversations, controls, settings: { enabled: true, systemPrompt: "Be kind.", maxTokens: 100 } }),
    switchRole: (frontEnd, device, role) => switchDeviceRole({ controls, turns, conversations, llm: fakes.engines.llm, roles: () => roles.current }, frontEnd, device, role),
    say: (text, voice, speed) => collectAudio(fakes.engines.tts.synthesize(text, { voice, speed })),
    async stop() {
      await turns.stop();
      conversations.stop();
    },
  };
  return {
    ...fakes,
    pipeline,
    stateDir,
    async cleanup() {
      await pipeline.stop();
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
}
