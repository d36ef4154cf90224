// A parent switches a device's role in the console. The choice is kept with the device's controls
// (devices.json) and wins over the device's own choice (a FoloToy toy's role button, [xiaozhi]
// device_roles and role) from the device's next turn on, until the parent gives it back.
// Each role keeps its own stored conversation (as with the toy's role button), so switching back
// continues where that role left off; the running turn ends, and the LLM's cached context of
// the conversation being left is dropped (it frees its place for the new role).
import { conversationFileStem } from "../conversations/key.ts";
import type { ConversationStore } from "../conversations/store.ts";
import type { Llm } from "../engines/types.ts";
import { BadRequest } from "../errors.ts";
import { logger } from "../log.ts";
import type { DeviceControlsStore } from "./controls.ts";
import type { RolesConfig } from "./roles.ts";
import type { TurnRunner } from "./turns.ts";

const log = logger("roles");

export interface RoleSwitch {
  frontEnd: string;
  device: string;
  /** The role chosen now; undefined: the device's own choice again. */
  role: string | undefined;
  /** The role of the conversation being left (the earlier choice, else the device's last turn), when known. */
  previous: string | undefined;
}

export interface RoleSwitchDeps {
  controls: DeviceControlsStore;
  turns: TurnRunner;
  conversations: ConversationStore;
  llm: Pick<Llm, "forgetConversation">;
  roles: () => RolesConfig;
}

/** Switches the device to `role` (a key of roles.json), or back to its own choice (undefined). Throws BadRequest for a role roles.json does not have. */
export function switchDeviceRole(deps: RoleSwitchDeps, frontEnd: string, device: string, role: string | undefined): RoleSwitch {
  if (role !== undefined && !deps.roles().roles[role]) {
    const have = Object.keys(deps.roles().roles).sort((a, b) => Number(a) - Number(b));
    throw new BadRequest(`roles.json has no role ${role}: choose one of ${have.join(", ")}.`, "role", "unknown_role");
  }
  const previous = deps.controls.role(frontEnd, device) ?? deps.conversations.turns({ limit: 1, frontEnd, device })[0]?.key.role;
  deps.controls.setRole(frontEnd, device, role);
  const change: RoleSwitch = { frontEnd, device, role, previous };
  if (previous === role) return change;
  deps.turns.cancel(frontEnd, device, "a parent switched its role");
  if (previous !== undefined) deps.llm.forgetConversation(conversationFileStem({ frontEnd, device, role: previous }));
  log.info(role === undefined ? "a parent gave the device its own role choice back" : "a parent switched the device's role", { frontEnd, device, role, previous });
  return change;
}
