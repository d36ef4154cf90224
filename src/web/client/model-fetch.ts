// The models being fetched while Hearth starts (Status page): per model its bytes done of the
// total, speed and time left, how often it was retried and why; when the fetch failed, what went
// wrong, what to do (the commands to run) and when Hearth tries again by itself.
import type { ModelFetchFile, ModelFetchSnapshot } from "../../models/fetch-status.ts";
import { formatBytes } from "../../models/progress.ts";
import { byId, formatDuration, formatTime, h } from "./dom.ts";

const STATE: Record<ModelFetchFile["state"], string> = { waiting: "waiting", active: "", done: "done", failed: "failed" };

export function renderModelFetch(fetch: ModelFetchSnapshot | undefined) {
  const box = byId("model-fetch");
  box.hidden = !fetch || fetch.state === "done";
  if (!fetch || fetch.state === "done") return;
  const done = fetch.files.reduce((n, f) => n + Math.min(f.done, f.total ?? f.done), 0);
  const total = fetch.files.reduce((n, f) => n + (f.total ?? 0), 0);
  byId("model-fetch-summary").textContent =
    `Profile ${fetch.profile}, from ${fetch.source}` + (total ? `: ${formatBytes(done)} of ${formatBytes(total)}.` : ".") + (fetch.attempt > 1 ? ` Try ${fetch.attempt}.` : "");
  byId("model-fetch-files").replaceChildren(...fetch.files.map(fileRow));
  const problem = byId("model-fetch-error");
  problem.hidden = fetch.state !== "failed";
  if (fetch.state !== "failed") return;
  const again = fetch.retryAt
    ? `Hearth tries again by itself at ${formatTime(fetch.retryAt)} (in ${formatDuration(Math.max(0, (fetch.retryAt - Date.now()) / 1000))}).`
    : "Hearth does not try again by itself: fix it, then restart Hearth.";
  const parts = [h("p", {}, h("b", {}, "The models could not be fetched. "), fetch.error ?? "")];
  if (fetch.fix) parts.push(h("p", {}, "What to do: ", h("code", { class: "fix" }, fetch.fix)));
  parts.push(h("p", { class: "again" }, again));
  problem.replaceChildren(...parts);
}

function fileRow(f: ModelFetchFile): HTMLElement {
  const total = f.total ?? 0;
  const bar = h("progress", { max: Math.max(total, 1), value: Math.min(f.done, total || f.done) });
  if (!total) bar.removeAttribute("value"); // an unknown size: the bar just moves
  const amount = total ? `${formatBytes(f.done)} of ${formatBytes(total)}` : formatBytes(f.done);
  const pace = f.state === "active" && f.bytesPerSecond ? ` · ${formatBytes(f.bytesPerSecond)}/s` : "";
  const left = f.state === "active" && f.etaSeconds !== undefined ? ` · about ${formatDuration(f.etaSeconds)} left` : "";
  const what = f.state === "active" ? `${f.verb ?? "fetching"}: ` : "";
  return h(
    "div",
    { class: `fetch-file ${f.state}`, "data-model": f.id, "data-state": f.state },
    h("div", { class: "name" }, h("code", {}, f.id), h("small", { class: "muted" }, ` ${f.kind.toUpperCase()}`), STATE[f.state] ? h("span", { class: `state ${f.state}` }, STATE[f.state]) : null),
    bar,
    h("div", { class: "amount" }, `${what}${amount}${pace}${left}`),
    f.retries || f.lastError
      ? h("div", { class: "retries" }, f.retries ? `Retried ${f.retries} ${f.retries === 1 ? "time" : "times"}. ` : "", f.lastError ? `Last problem: ${f.lastError}` : "")
      : null,
  );
}
