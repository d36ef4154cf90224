// The console's entry point: tabs (#status, #alerts, #talk, #roles, #models, and
// #history/<frontEnd>/<device> for one toy's controls and conversations) and the status poll that
// keeps the header, the alerts badge and the open page fresh. When Hearth does not answer, every
// page says so and the poll keeps trying. Without a parent password a banner says how to set one.
import type { StatusSnapshot } from "../routes.ts";
import { refreshAlerts } from "./alerts.ts";
import { ApiError, apiJson, friendly, setupKeyButton, setupLogoutButton, UNREACHABLE } from "./api.ts";
import { byId } from "./dom.ts";
import { refreshHistoryPage, setupHistoryPage, showHistoryPage } from "./history.ts";
import { loadApiModelNames, renderModelsPage, setupModelsPage } from "./models.ts";
import { setupRolesPage, showRolesPage } from "./roles.ts";
import { refreshStatusPage, showStatusOffline } from "./status.ts";
import { setupTalkPage, showTalkPage, updateTalkPage } from "./talk.ts";

const PAGES = ["status", "alerts", "talk", "roles", "models", "history"] as const;
type Page = (typeof PAGES)[number];
/** The tab each page belongs to (a toy's history is part of Status). */
const TAB: Record<Page, string> = { status: "status", alerts: "alerts", talk: "talk", roles: "roles", models: "models", history: "status" };
const POLL_MS = 3000;

let page: Page = "status";
let latest: StatusSnapshot | null = null;
let lastContact: number | null = null;

function banner(text: string) {
  const el = byId("banner");
  el.textContent = text;
  el.hidden = text === "";
}

function pill(text: string, kind: "ok" | "bad", title = "") {
  const el = byId("ready");
  el.textContent = text;
  el.className = `pill ${kind}`;
  el.title = title;
}

async function refresh() {
  try {
    latest = await apiJson<StatusSnapshot>("/api/status");
    lastContact = Date.now();
    banner(""); // Hearth answered: whatever the banner said about reaching it is over
    pill(latest.ready ? "ready" : "starting", latest.ready ? "ok" : "bad", latest.ready ? `profile ${latest.models.profile}` : latest.reasons.join(", "));
    document.body.dataset.hearth = latest.ready ? "ready" : "starting";
    byId("password-banner").hidden = latest.passwordSet !== false;
    updateTalkPage(latest);
    await refreshAlerts(page === "alerts");
    if (page === "status") await refreshStatusPage(latest);
    if (page === "history") await refreshHistoryPage();
    if (page === "models") renderModelsPage(latest);
  } catch (e) {
    const unreachable = !(e instanceof ApiError) || e.status === 0 || e.status >= 502;
    document.body.dataset.hearth = unreachable ? "offline" : "error";
    if (e instanceof ApiError && e.status === 401) {
      banner(e.message);
      pill("needs a key", "bad");
      return;
    }
    banner(unreachable ? `${UNREACHABLE} This page keeps trying.` : friendly(e));
    pill(unreachable ? "offline" : "error", "bad", friendly(e));
    if (unreachable && page === "status") showStatusOffline(lastContact);
  }
}

function route() {
  const [wanted = "", ...args] = location.hash.slice(1).split("/");
  page = (PAGES as readonly string[]).includes(wanted) ? (wanted as Page) : "status";
  if (page === "history" && args.length < 2) page = "status";
  for (const name of PAGES) byId(`page-${name}`).hidden = name !== page;
  for (const link of Array.from(document.querySelectorAll<HTMLAnchorElement>("nav a"))) link.classList.toggle("active", link.dataset.page === TAB[page]);
  if (page === "history") showHistoryPage(decodeURIComponent(args[0]!), decodeURIComponent(args.slice(1).join("/")));
  if (page === "talk") void showTalkPage();
  if (page === "roles") void showRolesPage();
  if (page === "models") void loadApiModelNames();
  void refresh();
}

setupKeyButton(() => route());
void setupLogoutButton();
setupTalkPage();
setupRolesPage();
setupModelsPage();
setupHistoryPage();
window.addEventListener("hashchange", route);
route();
setInterval(() => {
  if (!document.hidden) void refresh();
}, POLL_MS);
