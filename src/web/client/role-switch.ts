// A device's role on its page: the parent picks one of roles.json's roles (PUT
// /api/devices/<frontEnd>/<device>/role), and the device talks as it from its next question,
// whatever its own role button or Hearth's [xiaozhi] role says, until the parent picks "its own
// choice" again. Applied as soon as it is picked: there is nothing else to fill in.
import type { ConsoleToy, DeviceControlsView } from "../routes.ts";
import { api, errorMessage, friendly } from "./api.ts";
import { loadRoles, shortName, type RoleInfo } from "./catalog.ts";
import { byId, h } from "./dom.ts";

/** Roles are read again at most this often while the page is open (roles.json changes rarely). */
const ROLES_MAX_AGE_MS = 30_000;

let current: { frontEnd: string; device: string } | null = null;
let roles: RoleInfo[] = [];
let rolesAt = 0;
let saving = false;
let signature = "";
/** Called after a switch, so the page's facts (its role) update at once. */
let onSwitched: () => void = () => {};

const select = () => byId<HTMLSelectElement>("role-select");
const path = (frontEnd: string, device: string) => `/api/devices/${encodeURIComponent(frontEnd)}/${encodeURIComponent(device)}/role`;
const nameOf = (key: string | number) => {
  const role = roles.find((r) => r.key === String(key));
  return role ? shortName(role, 40) : "";
};
/** For options: "2 · You are an owl." */
const roleLabel = (key: string | number) => (nameOf(key) ? `${key} · ${nameOf(key)}` : String(key));
/** For sentences: "role 2 (“You are an owl.”)" */
const roleName = (key: string | number) => (nameOf(key) ? `role ${key} (“${nameOf(key)}”)` : `role ${key}`);

/** The role in force, and that a parent chose it here when so. */
export function roleFact(toy: ConsoleToy): string {
  return toy.chosenRole ? `${toy.role} (chosen here)` : String(toy.role);
}

function say(text: string, kind: "ok" | "error" | "" = "") {
  const el = byId("role-message");
  el.textContent = text;
  el.className = `message ${kind}`;
}

export function setupRoleSwitch(switched: () => void) {
  onSwitched = switched;
  select().addEventListener("change", () => void choose(select().value));
}

/** Shows the role picker for a device (none for the Talk page and API clients). */
export function showRoleSwitch(frontEnd: string, device: string | null) {
  const form = byId("role-form");
  if (device === null) {
    current = null;
    form.hidden = true;
    return;
  }
  if (current?.frontEnd !== frontEnd || current.device !== device) {
    current = { frontEnd, device };
    signature = "";
    form.hidden = true;
    say("");
  }
}

/** Fills the picker from the device as listed (its own role) and its controls (the role chosen here). */
export async function refreshRoleSwitch(toy: ConsoleToy | undefined, view: DeviceControlsView | null) {
  if (!current || !view) return;
  if (Date.now() - rolesAt > ROLES_MAX_AGE_MS) {
    roles = await loadRoles().catch(() => roles);
    rolesAt = Date.now();
  }
  if (roles.length === 0 || saving) return;
  const own = toy?.ownRole ?? toy?.role;
  const next = JSON.stringify([roles, own, view.role, current]);
  if (next === signature) return;
  signature = next;
  const isToy = current.frontEnd === "folotoy";
  const ownLabel = own === undefined ? "Its own choice" : isToy ? `Its role button (now ${roleLabel(own)})` : `Its usual role (${roleLabel(own)})`;
  select().replaceChildren(h("option", { value: "" }, ownLabel), ...roles.map((r) => h("option", { value: r.key }, `Role ${roleLabel(r.key)}`)));
  select().value = view.role && roles.some((r) => r.key === view.role) ? view.role : "";
  hint(view.role);
  byId("role-form").hidden = false;
}

function hint(chosen: string | undefined) {
  const isToy = current?.frontEnd === "folotoy";
  byId("role-hint").textContent = chosen
    ? `Chosen here: it talks as ${roleName(chosen)}${isToy ? ", whatever its role button says," : ""} until you pick “${isToy ? "Its role button" : "Its usual role"}” again.`
    : `Pick a role to switch it from its next question${isToy ? " (it then stays on that role, whatever its role button says)" : " (its usual role comes from Hearth's config.toml: [xiaozhi] device_roles, else [xiaozhi] role)"}. Each role keeps its own conversation.`;
}

async function choose(value: string) {
  if (!current) return;
  const { frontEnd, device } = current;
  saving = true;
  select().disabled = true;
  say("Switching…");
  try {
    const res = await api(path(frontEnd, device), { method: "PUT", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ role: value || null }) });
    if (!res.ok) return say(`Not switched: ${await errorMessage(res)}`, "error");
    const view = (await res.json()) as DeviceControlsView;
    signature = ""; // the next refresh redraws the labels
    hint(view.role);
    onSwitched();
    say(view.role ? `Switched: it talks as ${roleName(view.role)} from its next question.` : "Done: it follows its own role choice again from its next question.", "ok");
  } catch (e) {
    say(friendly(e), "error");
  } finally {
    saving = false;
    select().disabled = false;
  }
}
