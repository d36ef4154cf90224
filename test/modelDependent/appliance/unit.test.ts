// systemd/hearth.service: systemd's own checker, and the lines the appliance depends on.
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT } from "../../support/paths.ts";

const UNIT = await Bun.file(join(ROOT, "systemd/hearth.service")).text();
const dir = mkdtempSync(join(tmpdir(), "hearth-unit-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** key=value lines of the unit (comments dropped), for exact checks. */
const lines = UNIT.split("\n").map((l) => l.trim()).filter((l) => l && !l.startsWith("#"));

test("systemd-analyze verify passes with no warning at all", () => {
  // verify insists that ExecStart's binary exists, and may resolve User=: this machine has no
  // /opt/hearth and no hearth user, so a copy is checked with ExecStart pointing at the real Bun
  // of this checkout and User/Group=root. Every other line is verified exactly as installed.
  const bun = realpathSync(join(ROOT, "node_modules/.bin/bun"));
  const copy = UNIT.replace(/^ExecStart=\/opt\/hearth\/node_modules\/\.bin\/bun /m, `ExecStart=${bun} `)
    .replace(/^User=hearth$/m, "User=root")
    .replace(/^Group=hearth$/m, "Group=root");
  expect(copy).not.toBe(UNIT);
  expect(copy).toContain(`ExecStart=${bun} src/main.ts --config /etc/hearth/config.toml`);
  const path = join(dir, "hearth.service");
  writeFileSync(path, copy);
  const result = Bun.spawnSync(["systemd-analyze", "verify", path], { stdout: "pipe", stderr: "pipe" });
  const output = (result.stdout.toString() + result.stderr.toString()).trim();
  // systemd 252 exits 0 even for unknown keys ("Unknown key 'RestartSteps'..."), so the output must be empty too
  expect(output).toBe("");
  expect(result.exitCode).toBe(0);
});

test("the checker really catches what it should (an unknown key)", () => {
  const bun = realpathSync(join(ROOT, "node_modules/.bin/bun"));
  const path = join(dir, "broken.service");
  writeFileSync(path, `[Service]\nExecStart=${bun} --version\nRestartStepz=3\n`);
  const result = Bun.spawnSync(["systemd-analyze", "verify", path], { stdout: "pipe", stderr: "pipe" });
  expect(result.stderr.toString()).toContain("RestartStepz");
});

test("start, readiness, restart and stop behave as the appliance needs", () => {
  for (const line of [
    "After=network-online.target",
    "Wants=network-online.target",
    "Type=notify",
    "NotifyAccess=all", // READY=1 comes from a systemd-notify child (src/systemd-notify.ts)
    "TimeoutStartSec=300",
    "Restart=on-failure",
    "RestartSec=5",
    "TimeoutStopSec=20",
    "KillSignal=SIGTERM",
    "User=hearth",
    "WorkingDirectory=/opt/hearth",
    "ExecStart=/opt/hearth/node_modules/.bin/bun src/main.ts --config /etc/hearth/config.toml",
    "Environment=HEARTH_LOG_LEVEL=info",
    "WantedBy=multi-user.target",
  ]) {
    expect(lines).toContain(line);
  }
});

test("hardening is on, without what would break Bun", () => {
  for (const line of [
    "NoNewPrivileges=yes",
    "ProtectSystem=strict",
    "ReadWritePaths=/var/lib/hearth",
    "ProtectHome=yes",
    "PrivateTmp=yes",
    "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX AF_NETLINK",
    "ProtectKernelTunables=yes",
    "ProtectControlGroups=yes",
    "RestrictRealtime=yes",
    "LockPersonality=yes",
    "MemoryMax=1800M",
    "CapabilityBoundingSet=",
  ]) {
    expect(lines).toContain(line);
  }
  expect(lines.some((l) => l.startsWith("LimitNOFILE="))).toBe(true);
  // Bun's JIT needs writable+executable memory
  expect(lines.some((l) => l.startsWith("MemoryDenyWriteExecute"))).toBe(false);
  // not understood by Debian 12's systemd 252: the installer adds them as a drop-in on >= 254
  expect(lines.some((l) => l.startsWith("RestartSteps") || l.startsWith("RestartMaxDelaySec"))).toBe(false);
});
