// The login page (/login, shown while a parent password is set and this browser has no session):
// sends the password to POST /api/login, which sets an HttpOnly cookie, then opens the console
// at the page that was asked for (the #fragment survives the redirect to /login).
const form = document.getElementById("login-form") as HTMLFormElement;
const input = document.getElementById("login-password") as HTMLInputElement;
const message = document.getElementById("login-message")!;
const submit = document.getElementById("login-submit") as HTMLButtonElement;

function say(text: string) {
  message.textContent = text;
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  submit.disabled = true;
  say("");
  try {
    const res = await fetch("/api/login", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ password: input.value }),
    });
    if (res.ok) {
      location.replace(`/${location.hash}`);
      return;
    }
    const body = await res.json().catch(() => null);
    if (res.status === 401) say("That is not the password. Try again.");
    else if (res.status === 429) say(`Too many wrong tries. Wait ${res.headers.get("retry-after") ?? "a minute"} seconds, then try again.`);
    else if (body?.error?.code === "no_password") location.replace(`/${location.hash}`);
    else say(body?.error?.message ?? `Hearth answered ${res.status}.`);
    input.select();
  } catch {
    say("Cannot reach Hearth. Check that it is switched on and on the same network as this phone or computer.");
  } finally {
    submit.disabled = false;
  }
});
