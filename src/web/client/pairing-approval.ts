// xiaozhi devices waiting for a parent's approval ([xiaozhi] require_pairing), on the Status page:
// each shows and says a 6-digit code; the parent types the code seen on the device and approves
// it (POST /api/xiaozhi/activate). The code itself is never shown here: typing what the device
// shows is what proves the parent has that device in hand.
import { api, apiJson, ApiError, errorMessage, friendly } from "./api.ts";
import { byId, formatAgo, h } from "./dom.ts";

interface XiaozhiDevice {
  device: string;
  approved: boolean;
  board?: string;
  firmware?: string;
  firstSeen: number;
  lastSeen: number;
}

let signature = "";

/** Redraws the list only when the waiting devices change, so nothing a parent types is lost. */
export async function refreshWaitingDevices() {
  let devices: XiaozhiDevice[];
  try {
    devices = (await apiJson<{ data: XiaozhiDevice[] }>("/api/xiaozhi/devices")).data;
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) devices = []; // xiaozhi devices are switched off
    else throw e;
  }
  const waiting = devices.filter((d) => !d.approved);
  const next = JSON.stringify(waiting.map((d) => d.device));
  // an approval's message stays after its device left the list
  byId("waiting").hidden = waiting.length === 0 && byId("waiting-message").textContent === "";
  byId("waiting-none").hidden = waiting.length > 0;
  if (next === signature) return;
  signature = next;
  byId("waiting-list").replaceChildren(...waiting.map(row));
}

/** "aabbcc000031" -> "aa:bb:cc:00:00:31", as the device's screen shows its MAC. */
function mac(device: string): string {
  return /^[0-9a-f]{12}$/.test(device) ? device.match(/../g)!.join(":") : device;
}

function row(d: XiaozhiDevice): HTMLElement {
  const input = h("input", { type: "text", inputmode: "numeric", autocomplete: "off", maxlength: 6, pattern: "\\d{6}", placeholder: "6 digits", "aria-label": `Code shown by ${mac(d.device)}`, class: "code" });
  const button = h("button", { type: "submit" }, "Approve");
  const message = h("p", { class: "message", role: "status" });
  const about = [d.board, d.firmware && `firmware ${d.firmware}`].filter(Boolean).join(", ");
  const form = h(
    "form",
    { class: "waiting-device", "data-device": d.device, novalidate: true },
    h("div", { class: "who" }, h("code", {}, mac(d.device)), about ? h("small", { class: "muted" }, ` ${about}`) : null, h("small", { class: "muted" }, ` · asked ${formatAgo(d.firstSeen)}`)),
    h("label", { class: "field" }, h("span", {}, "Code it shows"), h("span", { class: "row" }, input, button)),
    message,
  );
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    void approve(d.device, input, button, message);
  });
  return form;
}

async function approve(device: string, input: HTMLInputElement, button: HTMLButtonElement, message: HTMLElement) {
  const say = (text: string, kind: "ok" | "error" | "") => {
    message.textContent = text;
    message.className = `message ${kind}`;
  };
  const code = input.value.replace(/\s+/g, "");
  if (!/^\d{6}$/.test(code)) return say("Type the 6 digits the device shows on its screen (it also says them).", "error");
  button.disabled = true;
  try {
    const res = await api("/api/xiaozhi/activate", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ code }) });
    if (res.status === 404) return say("No device is waiting with that code. Check the digits on the device's screen; if it shows a new code, type that one.", "error");
    if (!res.ok) return say(`Not approved: ${await errorMessage(res)}`, "error");
    const { approved } = (await res.json()) as { approved: string };
    say("", "");
    const done = byId("waiting-message");
    done.textContent =
      approved === device
        ? `Approved ${mac(approved)}: it connects by itself within a few seconds and shows up under Toys.`
        : `That code belonged to another waiting device, ${mac(approved)}, which is now approved.`;
    done.className = "message ok";
    signature = ""; // redrawn without the approved device
    await refreshWaitingDevices();
  } catch (e) {
    say(friendly(e), "error");
  } finally {
    button.disabled = false;
  }
}
