// src/systemd-notify.ts against a real NOTIFY_SOCKET: a unix datagram socket bound by a small
// python3 listener (Bun cannot bind one), which prints every datagram it receives with the
// sender's PID from SCM_CREDENTIALS. Messages are sent by the real systemd-notify binary.
import { afterEach, beforeEach, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { extendStartTimeout, notifyReady, notifyStatus, notifyStopping, startWatchdog } from "../../../src/systemd-notify.ts";

const LISTENER = `
import json, socket, struct, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
s.bind(sys.argv[1])
print(json.dumps({"listening": True}), flush=True)
while True:
    # no room for SCM_RIGHTS: the fd of a BARRIER=1 message is closed at once, which is
    # exactly what systemd does to answer the barrier
    data, ancillary, flags, address = s.recvmsg(65536, socket.CMSG_SPACE(12))
    pid = None
    for level, kind, payload in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
            pid = struct.unpack("iII", payload[:12])[0]
    print(json.dumps({"data": data.decode(), "pid": pid}), flush=True)
`;

interface Datagram {
  data: string;
  pid: number | null;
}

let dir: string;
let listener: Subprocess<"ignore", "pipe", "inherit">;
let received: Datagram[];
const saved = { NOTIFY_SOCKET: process.env.NOTIFY_SOCKET, WATCHDOG_USEC: process.env.WATCHDOG_USEC, WATCHDOG_PID: process.env.WATCHDOG_PID };

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "hearth-notify-"));
  const socketPath = join(dir, "notify.sock");
  listener = Bun.spawn(["python3", "-c", LISTENER, socketPath], { stdin: "ignore", stdout: "pipe", stderr: "inherit" });
  received = [];
  const lines = listener.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let ready!: () => void;
  const listening = new Promise<void>((resolve) => (ready = resolve));
  void (async () => {
    let buffer = "";
    for (;;) {
      const { value, done } = await lines.read();
      if (done) return;
      buffer += value;
      let nl: number;
      while ((nl = buffer.indexOf("\n")) >= 0) {
        const message = JSON.parse(buffer.slice(0, nl));
        buffer = buffer.slice(nl + 1);
        if (message.listening) ready();
        else received.push(message);
      }
    }
  })();
  await listening;
  process.env.NOTIFY_SOCKET = socketPath;
  delete process.env.WATCHDOG_USEC;
  delete process.env.WATCHDOG_PID;
});

afterEach(() => {
  listener.kill();
  rmSync(dir, { recursive: true, force: true });
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
});

/** The notification datagrams (systemd-notify follows each with BARRIER=1 and waits for it). */
function messages(): string[] {
  return received.map((d) => d.data).filter((d) => d !== "BARRIER=1");
}

test("notifyReady sends READY=1, STATUS= and MAINPID=<our pid>, and waits for the barrier", async () => {
  expect(await notifyReady("Serving on :8080")).toBe(true);
  const ready = received.find((d) => d.data.includes("READY=1"));
  expect(ready).toBeDefined();
  expect(ready!.data.split("\n").sort()).toEqual([`MAINPID=${process.pid}`, "READY=1", "STATUS=Serving on :8080"].sort());
  // systemd-notify returned only after the barrier was answered, so the barrier came after the message
  expect(received.map((d) => d.data)).toContain("BARRIER=1");
  // as root the kernel lets systemd-notify present Hearth's PID as the sender; as any other
  // user the sender is the systemd-notify child (hence NotifyAccess=all in the unit)
  if (process.getuid?.() === 0) expect(ready!.pid).toBe(process.pid);
});

test("status and stopping arrive in the order they were sent, newlines flattened", async () => {
  const sent = [notifyStatus("Loading models\n2/4"), notifyReady(), notifyStopping("Stopping: SIGTERM")];
  expect(await Promise.all(sent)).toEqual([true, true, true]);
  expect(messages()).toEqual(["STATUS=Loading models 2/4", `MAINPID=${process.pid}\nREADY=1`, "STOPPING=1\nSTATUS=Stopping: SIGTERM"]);
});

test("the watchdog pings WATCHDOG=1 every half period while running, and stops when asked", async () => {
  process.env.WATCHDOG_USEC = "400000"; // 0.4 s -> a ping every 0.2 s
  process.env.WATCHDOG_PID = String(process.pid);
  const stop = startWatchdog();
  await Bun.sleep(1000);
  stop();
  await Bun.sleep(300); // a ping in flight lands
  const pings = messages().filter((m) => m === "WATCHDOG=1").length;
  expect(pings).toBeGreaterThanOrEqual(3); // ~5; fewer on a loaded machine (a ping still in flight is skipped)
  expect(pings).toBeLessThanOrEqual(7);
  await Bun.sleep(500);
  expect(messages().filter((m) => m === "WATCHDOG=1").length).toBe(pings);
});

test("while starting, the start timeout is extended every period with a status, until stopped", async () => {
  const stop = extendStartTimeout(() => "Starting: fetching the models", 200);
  await Bun.sleep(700);
  stop();
  await Bun.sleep(300);
  const extensions = messages().filter((m) => m.startsWith("EXTEND_TIMEOUT_USEC="));
  expect(extensions.length).toBeGreaterThanOrEqual(3); // at once, then every 0.2 s
  expect(extensions[0]).toBe("EXTEND_TIMEOUT_USEC=500000\nSTATUS=Starting: fetching the models");
  await Bun.sleep(500);
  expect(messages().filter((m) => m.startsWith("EXTEND_TIMEOUT_USEC=")).length).toBe(extensions.length);
});

test("a watchdog meant for another PID is left alone", async () => {
  process.env.WATCHDOG_USEC = "200000";
  process.env.WATCHDOG_PID = String(process.pid + 1);
  const stop = startWatchdog();
  await Bun.sleep(400);
  stop();
  expect(messages()).toEqual([]);
});

test("without NOTIFY_SOCKET everything is a no-op", async () => {
  delete process.env.NOTIFY_SOCKET;
  process.env.WATCHDOG_USEC = "200000";
  expect(await notifyReady("x")).toBe(false);
  expect(await notifyStatus("x")).toBe(false);
  expect(await notifyStopping()).toBe(false);
  startWatchdog()();
  await Bun.sleep(300);
  expect(received).toEqual([]);
});
