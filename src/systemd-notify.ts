// Tells systemd (Type=notify) that Hearth is ready, what it is doing, that it is stopping,
// and that its event loop is alive (watchdog). Does nothing when NOTIFY_SOCKET is unset,
// i.e. whenever Hearth is not started by systemd.
//
// How: Bun has no API for unix datagram sockets, so each message is sent by running
// `systemd-notify` (part of systemd, present wherever the unit runs). Two consequences,
// both handled in systemd/hearth.service:
// - The message comes from the child's PID, not Hearth's, so the unit needs
//   NotifyAccess=all (NotifyAccess=main would drop it). `--pid=<our pid>` adds MAINPID=,
//   which names the Bun process as the main one; the kernel only lets root forge the sender
//   PID, so as User=hearth the sender is still the child.
// - systemd attributes a message to a unit by the sender's cgroup, which it can only look
//   up while the sender is alive. systemd-notify (systemd >= 246) therefore waits, by
//   default, until the manager has processed the message (sd_notify_barrier). Never pass
//   --no-block here: a short-lived sender would race its own exit and READY=1 could be lost.
import { logger } from "./log.ts";

const log = logger("systemd");

/** Messages go out one at a time, in the order they were asked for (READY before STATUS). */
let queue: Promise<unknown> = Promise.resolve();

function enabled(): boolean {
  return !!process.env.NOTIFY_SOCKET;
}

/** One NUL/newline-free value per assignment: systemd splits the datagram on newlines. */
function clean(text: string): string {
  return text.replace(/[\r\n\0]+/g, " ").trim();
}

function send(assignments: string[], options: string[] = []): Promise<boolean> {
  if (!enabled()) return Promise.resolve(false);
  const run = async (): Promise<boolean> => {
    try {
      const child = Bun.spawn(["systemd-notify", ...options, ...assignments], {
        stdin: "ignore",
        stdout: "ignore",
        stderr: "pipe",
        env: process.env, // as it is now, NOTIFY_SOCKET included
      });
      const [code, stderr] = await Promise.all([child.exited, new Response(child.stderr).text()]);
      if (code !== 0) {
        log.warn("systemd-notify failed", { message: assignments.join(" "), code, stderr: stderr.trim() });
        return false;
      }
      return true;
    } catch (e) {
      log.warn("cannot run systemd-notify", { message: assignments.join(" "), error: (e as Error).message });
      return false;
    }
  };
  const result = queue.then(run);
  queue = result;
  return result;
}

/** READY=1 (and an optional STATUS=): call once models are loaded and every server listens. */
export function notifyReady(status?: string): Promise<boolean> {
  const assignments = ["READY=1"];
  if (status) assignments.push(`STATUS=${clean(status)}`);
  return send(assignments, [`--pid=${process.pid}`]);
}

/** STOPPING=1: call first thing on SIGTERM/SIGINT, before closing servers and engines. */
export function notifyStopping(status = "Stopping"): Promise<boolean> {
  return send(["STOPPING=1", `STATUS=${clean(status)}`]);
}

/** STATUS=<text>, shown by `systemctl status hearth` (e.g. "Loading models 2/4"). */
export function notifyStatus(text: string): Promise<boolean> {
  return send([`STATUS=${clean(text)}`]);
}

/**
 * While Hearth is still starting (fetching a profile's models can take longer than the unit's
 * TimeoutStartSec, and it keeps retrying without internet while the console shows why), asks
 * systemd for `everyMs` x 2.5 more start time every `everyMs`, with a status line, so it is not
 * killed and restarted mid-download. Returns a function that stops asking; call it once ready.
 */
export function extendStartTimeout(status: () => string, everyMs = 60_000): () => void {
  if (!enabled()) return () => {};
  const extend = () => void send([`EXTEND_TIMEOUT_USEC=${Math.round(everyMs * 2.5 * 1000)}`, `STATUS=${clean(status())}`]);
  extend();
  const timer = setInterval(extend, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}

/**
 * When the unit sets WatchdogSec=, systemd passes WATCHDOG_USEC and, from READY=1 on, kills
 * Hearth if it does not hear WATCHDOG=1 within that time. Pings every half period from the
 * event loop, so a wedged event loop gets Hearth restarted. Call once, at start (pings before
 * READY=1 are harmless). Returns a function that stops the pings; a no-op without a watchdog.
 */
export function startWatchdog(): () => void {
  const usec = Number(process.env.WATCHDOG_USEC);
  const forPid = process.env.WATCHDOG_PID;
  if (!enabled() || !Number.isFinite(usec) || usec <= 0) return () => {};
  if (forPid && Number(forPid) !== process.pid) return () => {}; // the watchdog is meant for another process
  const everyMs = Math.max(50, Math.floor(usec / 1000 / 2));
  let pending = false;
  const ping = () => {
    if (pending) return; // a ping still waiting for the manager: do not pile up children
    pending = true;
    void send(["WATCHDOG=1"]).finally(() => (pending = false));
  };
  ping();
  const timer = setInterval(ping, everyMs);
  timer.unref();
  log.debug("watchdog pings started", { everyMs });
  return () => clearInterval(timer);
}
