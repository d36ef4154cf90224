// fetch() for the console: sends the API key kept in localStorage (the session cookie, when a
// parent password is set, goes along by itself). On a 401 it sends the browser to /login when a
// parent password is set and this browser is not signed in; otherwise it asks for the key once
// (one dialog for all the requests waiting on it), then retries.
// A request that gets no answer at all says so in a parent's words, not "Failed to fetch".
import { byId } from "./dom.ts";

const STORAGE_KEY = "hearth.apiKey";

/** What every page says when Hearth does not answer (the browser's own words are "Failed to fetch"). */
export const UNREACHABLE = "Cannot reach Hearth. Check that it is switched on and on the same network as this phone or computer.";

export class ApiError extends Error {
  constructor(
    message: string,
    /** The HTTP status; 0 when Hearth could not be reached at all. */
    readonly status: number,
  ) {
    super(message);
  }
}

/** True for an error thrown because the request was aborted on purpose (a Stop button). */
export function isAbort(e: unknown): boolean {
  return (e as Error | undefined)?.name === "AbortError";
}

/** The message of an OpenAI-shaped error body, or the status text. */
export async function errorMessage(res: Response): Promise<string> {
  const text = await res.text().catch(() => "");
  try {
    const message = JSON.parse(text)?.error?.message;
    if (typeof message === "string") return message;
  } catch {}
  return text.trim() || `${res.status} ${res.statusText}`;
}

let pendingKey: Promise<boolean> | null = null;
/** After "Cancel", background refreshes stop asking until the user opens the dialog again. */
let declined = false;

export async function api(path: string, init: RequestInit = {}): Promise<Response> {
  for (;;) {
    const headers = new Headers(init.headers);
    const key = localStorage.getItem(STORAGE_KEY);
    if (key) headers.set("Authorization", `Bearer ${key}`);
    let res: Response;
    try {
      res = await fetch(path, { ...init, headers });
    } catch (e) {
      if (isAbort(e) || init.signal?.aborted) throw e;
      throw new ApiError(UNREACHABLE, 0);
    }
    if (res.status !== 401) return res;
    await res.body?.cancel();
    if (await mustSignIn()) {
      goToLogin();
      throw new ApiError("Signed out: opening the sign-in page…", 401);
    }
    if (declined || !(await askForKey(key ? "That key was not accepted." : ""))) {
      throw new ApiError("This Hearth needs an API key: use the “API key” button at the top.", 401);
    }
  }
}

export async function apiJson<T>(path: string, init: RequestInit = {}): Promise<T> {
  const res = await api(path, init);
  if (!res.ok) throw new ApiError(await errorMessage(res), res.status);
  return (await res.json()) as T;
}

export interface SessionInfo {
  passwordSet: boolean;
  signedIn: boolean;
}

/** Whether a parent password is set and this browser has no session (GET /api/session is always open). */
async function mustSignIn(): Promise<boolean> {
  try {
    const res = await fetch("/api/session", { cache: "no-store" });
    if (!res.ok) return false;
    const session = (await res.json()) as SessionInfo;
    return session.passwordSet && !session.signedIn;
  } catch {
    return false;
  }
}

let leaving = false;
function goToLogin() {
  if (leaving) return;
  leaving = true;
  location.assign(`/login${location.hash}`);
}

/** Shows "Sign out" when this browser is signed in with the parent password. */
export async function setupLogoutButton() {
  const button = byId<HTMLButtonElement>("logout-button");
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      await fetch("/api/logout", { method: "POST" });
    } catch {}
    location.assign("/login");
  });
  try {
    const session = (await (await fetch("/api/session", { cache: "no-store" })).json()) as SessionInfo;
    button.hidden = !(session.passwordSet && session.signedIn);
  } catch {}
}

/** Shows the key dialog (once, however many requests are waiting); true when a key was entered. */
export function askForKey(reason = ""): Promise<boolean> {
  pendingKey ??= new Promise<boolean>((resolve) => {
    const dialog = byId<HTMLDialogElement>("key-dialog");
    const input = byId<HTMLInputElement>("key-input");
    byId("key-error").textContent = reason;
    byId("key-button").hidden = false;
    input.value = localStorage.getItem(STORAGE_KEY) ?? "";
    dialog.addEventListener(
      "close",
      () => {
        const key = input.value.trim();
        const saved = dialog.returnValue === "save" && key !== "";
        if (saved) localStorage.setItem(STORAGE_KEY, key);
        declined = !saved;
        pendingKey = null;
        resolve(saved);
      },
      { once: true },
    );
    dialog.returnValue = "";
    dialog.showModal();
    input.focus();
  });
  return pendingKey;
}

export function setupKeyButton(onNewKey: () => void) {
  const button = byId("key-button");
  button.hidden = localStorage.getItem(STORAGE_KEY) === null;
  button.addEventListener("click", async () => {
    if (await askForKey()) onNewKey();
  });
}

/** An error's message in words a parent understands: the browsers' network errors become UNREACHABLE. */
export function friendly(e: unknown): string {
  const message = (e as Error | undefined)?.message ?? String(e);
  if (/failed to fetch|networkerror|load failed|network request failed/i.test(message)) return UNREACHABLE;
  return message;
}
