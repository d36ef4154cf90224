// The console's entry point: tabs (#status, #talk, #roles, #models) and the status poll
// that keeps the header, the status page and the models page fresh.
import type { StatusSnapshot } from "../routes.ts";
import { ApiError, apiJson, setupKeyButton } from "./api.ts";
import { byId } from "./dom.ts";
import { loadApiModelNames, renderModelsPage } from "./models.ts";
import { setupRolesPage, showRolesPage } from "./roles.ts";
import { refreshStatusPage } from "./status.ts";
import { setupTalkPage, updateTalkPage } from "./talk.ts";

const PAGES = ["status", "talk", "roles", "models"] as const;
type Page = (typeof PAGES)[number];
const POLL_MS = 3000;

let page: Page = "status";
let latest: StatusSnapshot | null = null;

function banner(text: string) {
  const el = byId("banner");
  el.textContent = text;
  el.hidden = text === "";
}

function renderHeader(s: StatusSnapshot) {
  const pill = byId("ready");
  pill.textContent = s.ready ? "ready" : "starting";
  pill.className = `pill ${s.ready ? "ok" : "bad"}`;
  pill.title = s.ready ? `profile ${s.models.profile}` : s.reasons.join(", ");
}

async function refresh() {
  try {
    latest = await apiJson<StatusSnapshot>("/api/status");
    renderHeader(latest);
    updateTalkPage(latest);
    if (page === "status") await refreshStatusPage(latest);
    if (page === "models") renderModelsPage(latest);
    banner("");
  } catch (e) {
    banner(e instanceof ApiError && e.status === 401 ? e.message : `Cannot reach Hearth: ${(e as Error).message}`);
    const pill = byId("ready");
    pill.textContent = "offline";
    pill.className = "pill bad";
  }
}

function route() {
  const wanted = location.hash.slice(1);
  page = (PAGES as readonly string[]).includes(wanted) ? (wanted as Page) : "status";
  for (const name of PAGES) byId(`page-${name}`).hidden = name !== page;
  for (const link of Array.from(document.querySelectorAll<HTMLAnchorElement>("nav a"))) link.classList.toggle("active", link.dataset.page === page);
  if (page === "roles") void showRolesPage();
  if (page === "models") void loadApiModelNames();
  void refresh();
}

setupKeyButton(() => route());
setupTalkPage();
setupRolesPage();
window.addEventListener("hashchange", route);
route();
setInterval(() => {
  if (!document.hidden) void refresh();
}, POLL_MS);
