// scripts/install-pi.sh --dry-run on this Debian machine: it must decide and print every step
// and change nothing. (The real run needs systemd as PID 1, which this machine does not have.)
import { afterAll, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { ROOT } from "../../support/paths.ts";

const SCRIPT = join(ROOT, "scripts/install-pi.sh");
const scratch = mkdtempSync(join(tmpdir(), "hearth-install-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** What the installer touches: none of it may appear, vanish or change in a dry run. */
const TOUCHED = ["/opt/hearth", "/opt/hearth.new", "/etc/hearth", "/var/lib/hearth", "/etc/systemd/system/hearth.service", "/etc/systemd/system/hearth.service.d"];
const snapshot = () => TOUCHED.map((p) => `${p}:${existsSync(p)}`).join(" ");
const passwd = () => readFileSync("/etc/passwd", "utf8");

function install(args: string[], env: Record<string, string> = {}) {
  const before = { paths: snapshot(), passwd: passwd() };
  const base = { ...process.env } as Record<string, string>;
  delete base.HEARTH_MODELS_FROM;
  const r = Bun.spawnSync(["bash", SCRIPT, ...args], { cwd: "/", env: { ...base, ...env }, stdout: "pipe", stderr: "pipe" });
  const out = r.stdout.toString() + r.stderr.toString();
  expect(snapshot()).toBe(before.paths);
  expect(passwd()).toBe(before.passwd);
  return { code: r.exitCode, out };
}

function meminfo(kb: number): string {
  const path = join(scratch, `meminfo-${kb}`);
  writeFileSync(path, `MemTotal:       ${kb} kB\nMemFree:        1000 kB\n`);
  return path;
}

/** A device-tree model file as the kernel has it (NUL-terminated); "" for a machine without one. */
function board(model: string): string {
  const path = join(scratch, `board-${model.replace(/\W+/g, "-") || "none"}`);
  if (model) writeFileSync(path, `${model}\0`);
  return path; // for "", a file that does not exist
}

/** A `node` that only prints a version. */
function fakeNode(version: string): string {
  const path = join(scratch, `node-${version}`);
  writeFileSync(path, `#!/bin/sh\necho ${version}\n`);
  chmodSync(path, 0o755);
  return path;
}

function lanIp(): string {
  const r = Bun.spawnSync(["hostname", "-I"]);
  return r.stdout.toString().split(/\s+/).find((a) => /^\d+\.\d+\.\d+\.\d+$/.test(a) && !a.startsWith("127.")) ?? "127.0.0.1";
}

test("a dry run on this machine prints every key step and exits 0", () => {
  const { code, out } = install(["--dry-run"]);
  expect(code).toBe(0);
  expect(out).toContain("Dry run: nothing will be changed.");
  if (!existsSync("/etc/hearth/config.toml")) expect(out).not.toContain("exists: kept");
  // the user, the code, the dependencies
  if (!passwd().includes("\nhearth:")) {
    expect(out).toMatch(/would run: useradd --system --user-group --home-dir \/var\/lib\/hearth .*--shell \/usr\/sbin\/nologin .*hearth/);
  }
  expect(out).toContain("install -d -m 0750 -o hearth -g hearth /var/lib/hearth /var/lib/hearth/models");
  expect(out).toMatch(/tar -C \S+ --exclude=\.\/node_modules --exclude=\.\/\.git --exclude=\.\/models .*tar -C \/opt\/hearth\.new -xf -/);
  expect(out).toContain("env -C /opt/hearth.new npm ci --omit=dev");
  expect(out).toContain("mv /opt/hearth.new /opt/hearth");
  // the profile, chosen by this machine's RAM
  const kb = Number(/MemTotal:\s+(\d+)/.exec(readFileSync("/proc/meminfo", "utf8"))![1]);
  const expected = kb < 6 * 1024 * 1024 ? "pi" : "pi-8gb";
  expect(out).toContain(`(MemTotal ${kb} kB)`);
  expect(out).toMatch(new RegExp(`-> profile '${expected}'`));
  // config, models as the hearth user, the unit
  expect(out).toContain(`new file from ${ROOT}/config.toml with [state] dir = "/var/lib/hearth", [models] dir = "/var/lib/hearth/models", [models] profile = "${expected}"`);
  expect(out).toContain("would write /etc/hearth/config.toml (mode 0640, root:hearth)");
  expect(out).toContain(`runuser -u hearth -- env HOME=/var/lib/hearth /opt/hearth/node_modules/.bin/bun run setup --config /etc/hearth/config.toml --profile ${expected}`);
  expect(out).toContain(`install -m 0644 ${ROOT}/systemd/hearth.service /etc/systemd/system/hearth.service`);
  expect(out).toContain("would write /etc/systemd/system/hearth.service.d/memory.conf");
  expect(out).toContain(`MemoryMax=${expected === "pi" ? "1800M" : "4G"}`);
  expect(out).toContain("would run: systemctl daemon-reload");
  expect(out).toContain("would run: systemctl enable hearth.service");
  expect(out).toContain("would run: systemctl restart hearth.service");
  expect(out).toContain("http://127.0.0.1:8080/health");
  // the addresses to use, with ports from config.toml
  const ip = lanIp();
  expect(out).toContain(`Web console:      http://${ip}:8080/`);
  expect(out).toContain(`MQTT for the toys: ${ip}:1883`);
  // a new config gets a parent password; a dry run makes none and says where a real run prints it
  if (!existsSync("/etc/hearth/config.toml")) {
    expect(out).toContain("[dry-run] would set [console] password to a new random parent password for the web console (a real run prints it once, at the end)");
    expect(out).toContain("Parent password for the web console:  (a real install makes a new random one and prints it here, once)");
  }
});

test("on an unknown board the profile follows RAM: below 6 GB 'pi', from 6 GB 'pi-8gb'; --profile overrides and says so", () => {
  const noBoard = board("");
  const small = install(["--dry-run"], { HEARTH_INSTALL_MEMINFO: meminfo(3_884_000), HEARTH_INSTALL_BOARD_MODEL: noBoard });
  expect(small.code).toBe(0);
  expect(small.out).toContain("board: unknown (no device-tree model in /proc/device-tree/model or /sys/firmware/devicetree/base/model): choosing by RAM");
  expect(small.out).toContain("RAM: 3.7 GB (MemTotal 3884000 kB) is below 6 GB -> profile 'pi'");
  expect(small.out).toContain("MemoryMax=1800M");
  const big = install(["--dry-run"], { HEARTH_INSTALL_MEMINFO: meminfo(8_000_000), HEARTH_INSTALL_BOARD_MODEL: noBoard });
  expect(big.out).toContain("RAM: 7.6 GB (MemTotal 8000000 kB) is 6 GB or more -> profile 'pi-8gb'");
  expect(big.out).toContain("MemoryMax=4G");
  const forced = install(["--dry-run", "--profile", "test"], { HEARTH_INSTALL_MEMINFO: meminfo(8_000_000), HEARTH_INSTALL_BOARD_MODEL: noBoard });
  expect(forced.code).toBe(0);
  expect(forced.out).toContain("using profile 'test' as asked with --profile (board and RAM alone would pick 'pi-8gb')");
  expect(forced.out).toContain("--profile test");
  const unknown = install(["--dry-run", "--profile=pi-99gb"]);
  expect(unknown.code).not.toBe(0);
  expect(unknown.out).toContain("profile 'pi-99gb' is not in");
});

test("the profile follows the board: a Pi 4 gets 'pi' whatever its RAM, a Pi 5 with 8 GB 'pi-8gb'", () => {
  const choose = (model: string, kb: number) => {
    const r = install(["--dry-run"], { HEARTH_INSTALL_MEMINFO: meminfo(kb), HEARTH_INSTALL_BOARD_MODEL: board(model) });
    expect(r.code).toBe(0);
    return r.out;
  };
  const pi4 = choose("Raspberry Pi 4 Model B Rev 1.5", 7_998_000);
  expect(pi4).toContain(`board: Raspberry Pi 4 Model B Rev 1.5 (from ${board("Raspberry Pi 4 Model B Rev 1.5")})`);
  expect(pi4).toContain("RAM: 7.6 GB (MemTotal 7998000 kB); a Raspberry Pi 4 -> profile 'pi' (Qwen2.5-0.5B) whatever its RAM");
  expect(pi4).toContain("using profile 'pi'");
  expect(pi4).toMatch(/bun run setup --config \/etc\/hearth\/config\.toml --profile pi\s*$/m);
  expect(pi4).toContain("MemoryMax=1800M");
  expect(choose("Raspberry Pi 400 Rev 1.0", 3_884_000)).toContain("a Raspberry Pi 4 -> profile 'pi'");
  const pi5big = choose("Raspberry Pi 5 Model B Rev 1.0", 8_245_000);
  expect(pi5big).toContain("RAM: 7.9 GB (MemTotal 8245000 kB); a Raspberry Pi 5 with 8 GB or more -> profile 'pi-8gb' (the larger Qwen2.5-1.5B)");
  expect(pi5big).toContain("using profile 'pi-8gb'");
  expect(pi5big).toContain("MemoryMax=4G");
  const pi5small = choose("Raspberry Pi 5 Model B Rev 1.0", 4_045_000);
  expect(pi5small).toContain("a Raspberry Pi 5 with less than 8 GB -> profile 'pi' (Qwen2.5-0.5B)");
  expect(pi5small).toContain("using profile 'pi'");
  const other = choose("Radxa ROCK 5B", 16_000_000);
  expect(other).toContain("board: Radxa ROCK 5B");
  expect(other).toContain("not a Raspberry Pi 4 or 5: choosing by RAM");
  expect(other).toContain("is 6 GB or more -> profile 'pi-8gb'");
  // pi-yue (the Cantonese SenseVoice) is a profile like the others
  const yue = install(["--dry-run", "--profile", "pi-yue"], { HEARTH_INSTALL_BOARD_MODEL: board("Raspberry Pi 5 Model B Rev 1.0"), HEARTH_INSTALL_MEMINFO: meminfo(8_245_000) });
  expect(yue.code).toBe(0);
  expect(yue.out).toContain("using profile 'pi-yue' as asked with --profile (board and RAM alone would pick 'pi-8gb')");
  expect(yue.out).not.toContain("is not one of");
  expect(yue.out).toContain("MemoryMax=1800M");
});

test("Node.js older than 20 is named, with where to get a newer one: a dry run shows it, a real run stops", () => {
  const ok = install(["--dry-run"]);
  expect(ok.out).toMatch(/Node\.js: the installed Node\.js \(\S+\) is v\d+\.\d+\.\d+: fine \(Hearth needs 20 or newer\)/);
  const old = fakeNode("v18.19.0");
  const dry = install(["--dry-run"], { HEARTH_INSTALL_NODE: old });
  expect(dry.code).toBe(0);
  expect(dry.out).toContain(
    `WARNING: the installed Node.js (${old}) is v18.19.0, but Hearth's dependencies need Node.js 20 or newer (Debian 12 / Raspberry Pi OS Bookworm's apt has 18). ` +
      `A real run stops here: install Node.js 20 or newer from nodejs.org (the Linux ARM64 or x64 binary) or from your distribution's backports, check that 'node --version' prints v20 or later, then run this installer again.`,
  );
  // the real run's check (sourcing the script defines its steps without running them): it stops before changing anything
  const real = Bun.spawnSync(["bash", "-c", `source ${SCRIPT}; DRY_RUN=0; check_node; echo "went on"`], { env: { ...process.env, HEARTH_INSTALL_NODE: old } as Record<string, string>, stderr: "pipe", stdout: "pipe" });
  const out = real.stdout.toString() + real.stderr.toString();
  expect(real.exitCode).toBe(1);
  expect(out).toContain(`ERROR: the installed Node.js (${old}) is v18.19.0, but Hearth's dependencies need Node.js 20 or newer`);
  expect(out).toContain("install Node.js 20 or newer from nodejs.org");
  expect(out).not.toContain("went on");
  // no node at all: what apt would install is checked instead
  const none = install(["--dry-run"], { HEARTH_INSTALL_NODE: join(scratch, "no-such-node") });
  expect(none.code).toBe(0);
  expect(none.out).toContain("Node.js: the Node.js apt would install (package nodejs) is");
  expect(none.out).toContain("missing: nodejs");
});

test("an existing config.toml is kept, with its profile, on upgrade", () => {
  const etc = join(scratch, "etc-hearth");
  mkdirSync(etc, { recursive: true });
  const config = readFileSync(join(ROOT, "config.toml"), "utf8").replace(/^profile = .*$/m, 'profile = "test"').replace(/^port = 8080\b.*$/m, "port = 9090");
  writeFileSync(join(etc, "config.toml"), config);
  const { code, out } = install(["--dry-run"], { HEARTH_INSTALL_ETC: etc, HEARTH_INSTALL_MEMINFO: meminfo(3_884_000) });
  expect(code).toBe(0);
  expect(out).toContain(`${etc}/config.toml exists: kept (your settings survive upgrades)`);
  expect(out).not.toContain(`would write ${etc}/config.toml`);
  expect(out).toContain(`keeping profile 'test' from your ${etc}/config.toml (board and RAM alone would pick 'pi'`);
  expect(out).toContain("MemoryMax=1G");
  // ports come from the kept file
  expect(out).toContain("http://127.0.0.1:9090/health");
  expect(out).toMatch(/Web console: +http:\/\/[\d.]+:9090\//);
  expect(readFileSync(join(etc, "config.toml"), "utf8")).toBe(config);
  // the kept file has no parent password: the installer says so and how to set one, and sets none
  expect(out).toContain("WARNING: no parent password in it ([console] password): anyone on your network can open the web console");
  expect(out).toContain(`No parent password is set: anyone on your network can open the web console. To set one, add\n        [console]\n        password = "<at least 8 characters>"\n    to ${etc}/config.toml, then: sudo systemctl restart hearth`);
  expect(out).not.toContain("random parent password");
  // --profile is the one thing that edits a kept file (its profile line)
  const switched = install(["--dry-run", "--profile", "pi"], { HEARTH_INSTALL_ETC: etc });
  expect(switched.code).toBe(0);
  expect(switched.out).toContain('setting [models] profile = "pi" in it, as asked with --profile');
  expect(readFileSync(join(etc, "config.toml"), "utf8")).toBe(config);
});

test("HEARTH_MODELS_FROM (a USB stick) is handed to the model setup", () => {
  const { code, out } = install(["--dry-run"], { HEARTH_MODELS_FROM: join(ROOT, "../shared/models") });
  expect(code).toBe(0);
  expect(out).toContain(`taking model files from ${resolve(ROOT, "../shared/models")} (HEARTH_MODELS_FROM), not the internet`);
  expect(out).toContain(`--from ${resolve(ROOT, "../shared/models")}`);
  const missing = install(["--dry-run"], { HEARTH_MODELS_FROM: join(scratch, "no-such-stick") });
  expect(missing.code).not.toBe(0);
  expect(missing.out).toContain("is not a folder");
});

test("a dry-run uninstall removes the service and code but keeps data; --purge removes data and user too", () => {
  const keep = install(["--dry-run", "--uninstall"]);
  expect(keep.code).toBe(0);
  expect(keep.out).toContain("would run: rm -f /etc/systemd/system/hearth.service");
  expect(keep.out).toContain("would run: rm -rf /etc/systemd/system/hearth.service.d");
  expect(keep.out).toContain("would run: rm -rf /opt/hearth");
  expect(keep.out).toContain("would keep /var/lib/hearth (models, roles.json, toy tokens, history) and /etc/hearth (config.toml)");
  expect(keep.out).not.toContain("rm -rf /var/lib/hearth");
  expect(keep.out).not.toContain("userdel");
  const purge = install(["--dry-run", "--uninstall", "--purge"]);
  expect(purge.code).toBe(0);
  expect(purge.out).toContain("would run: rm -rf /var/lib/hearth /etc/hearth");
  expect(purge.out).toContain("would run: userdel hearth");
});

test("wrong usage is refused with status 2", () => {
  expect(install(["--purge"]).code).toBe(2);
  expect(install(["--frobnicate"]).code).toBe(2);
  expect(install(["--profile"]).code).toBe(2);
  const help = install(["--help"]);
  expect(help.code).toBe(0);
  expect(help.out).toContain("--uninstall");
});

test.skipIf(process.getuid?.() !== 0)("a first install writes a random parent password into [console], prints it once at the end, and an upgrade keeps it", () => {
  const etc = join(scratch, "etc-first-install");
  // the real write_config and the end of main, as root into a scratch /etc/hearth (sourcing runs no step by itself)
  const firstRun = () => {
    const r = Bun.spawnSync(["bash", "-c", `source ${SCRIPT}; DRY_RUN=0; SERVICE_USER=root; PROFILE=test; write_config; print_password`], {
      env: { ...process.env, HEARTH_INSTALL_ETC: etc } as Record<string, string>,
      stdout: "pipe",
      stderr: "pipe",
    });
    return { code: r.exitCode, out: r.stdout.toString() + r.stderr.toString() };
  };
  const first = firstRun();
  expect(first.code).toBe(0);
  expect(first.out).toContain("and a new random parent password for the web console in [console] password (printed once, at the end)");
  const printed = /Parent password for the web console: {2}(\S+)/.exec(first.out)?.[1];
  expect(printed).toMatch(/^[a-z2-9]{5}-[a-z2-9]{5}-[a-z2-9]{5}-[a-z2-9]{5}$/);
  expect(printed).not.toMatch(/[01ilo]/);
  expect(first.out.split(printed!).length - 1).toBe(1); // printed exactly once
  expect(first.out).toContain(`It is [console] password in ${etc}/config.toml;`);
  // it is in the file, under [console], and Hearth reads it as the console password
  const text = readFileSync(join(etc, "config.toml"), "utf8");
  expect(text).toMatch(new RegExp(`\\[console\\][^\\[]*\\npassword = "${printed}"\\n`));
  const read = Bun.spawnSync(["bun", "-e", `const c = (await import("${ROOT}/src/config/load.ts")).loadConfig("${etc}/config.toml"); console.log(c.console.password)`], { stdout: "pipe", stderr: "pipe" });
  expect(read.stdout.toString().trim()).toBe(printed!);
  // an upgrade keeps the file and its password, and prints no password
  const again = firstRun();
  expect(again.code).toBe(0);
  expect(again.out).toContain("exists: kept");
  expect(again.out).not.toContain("Parent password for the web console");
  expect(again.out).not.toContain(printed!);
  expect(again.out).not.toContain("No parent password is set");
  expect(readFileSync(join(etc, "config.toml"), "utf8")).toBe(text);
  // another first install gets another password
  rmSync(etc, { recursive: true, force: true });
  const other = /Parent password for the web console: {2}(\S+)/.exec(firstRun().out)?.[1];
  expect(other).toMatch(/^[a-z2-9]{5}(-[a-z2-9]{5}){3}$/);
  expect(other).not.toBe(printed);
});
