// Owners moving from folotoy-server keep their Mosquitto (issue 16.7): a real Mosquitto with
// FoloToy's own password file setup and the ACL FoloToy publishes (folotoy-server-self-hosting,
// mosquitto/acl.conf). Hearth works there for toys, says once which ACL line its integration
// topics need, and with the lines docs/toy.md gives everything works and nothing is said.
import { afterEach, describe, expect, test } from "bun:test";
import { chmodSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import mqtt from "mqtt";
import { SimToy } from "../../../scripts/lib/toy-simulator.ts";
import { checkBrokerAcl } from "../../../src/devices/folotoy/acl.ts";
import { topics } from "../../../src/devices/folotoy/mqtt.ts";
import { captureLogs, REPLY_SENTENCES, startMosquitto, startTestToy, testEngines, UTT, waitFor, type Mosquitto, type TestToy } from "./helpers.ts";

/** FoloToy's mosquitto/acl.conf, as owners have it. */
const FOLOTOY_ACL = [
  "user folotoy",
  "topic readwrite /user/folotoy/#",
  "",
  "pattern read /user/folotoy/%u/thing/command/call",
  "pattern read /user/folotoy/%u/thing/command/postAck",
  "",
  "pattern write /user/folotoy/%u/thing/command/callAck",
  "pattern write /user/folotoy/%u/thing/event/post",
];
/** What docs/toy.md tells a migrating owner to add. */
const HEARTH_LINES = ["user folotoy", "topic readwrite /sys/#", "pattern write /user/folotoy/%u/thing/data/post"];

const USERS = { folotoy: "folotoy", e465b82b9ec8: "toy-key-1", aabbccddee21: "toy-key-2" };

/** Mosquitto as FoloToy's mosquitto.conf sets it up: no anonymous logins, a password file and an ACL file. */
async function folotoyMosquitto(acl: string[]): Promise<Mosquitto> {
  return startMosquitto({
    config: (dir) => {
      writeFileSync(join(dir, "acl.conf"), acl.join("\n") + "\n");
      writeFileSync(join(dir, "passwd"), "");
      for (const [user, password] of Object.entries(USERS)) {
        const r = Bun.spawnSync(["mosquitto_passwd", "-b", join(dir, "passwd"), user, password]);
        if (r.exitCode !== 0) throw new Error(`mosquitto_passwd failed: ${r.stderr.toString()}`);
      }
      for (const f of ["acl.conf", "passwd"]) chmodSync(join(dir, f), 0o644);
      return ["allow_anonymous false", `password_file ${join(dir, "passwd")}`, `acl_file ${join(dir, "acl.conf")}`];
    },
  });
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function hearthOn(mosq: Mosquitto): Promise<{ h: TestToy; logs: ReturnType<typeof captureLogs> }> {
  await testEngines();
  const logs = captureLogs();
  cleanups.push(() => logs.restore());
  const h = await startTestToy({
    env: { HEARTH_MQTT_URL: mosq.url, HEARTH_MQTT_USERNAME: "folotoy", HEARTH_MQTT_PASSWORD: "folotoy", HEARTH_TOY_ADVERTISE_HOST: "127.0.0.1", HEARTH_TOY_INTEGRATION_MIRROR: "true" },
  });
  cleanups.push(() => h.stop());
  return { h, logs };
}

const aclWarnings = (lines: string[]) => lines.filter((l) => l.includes("ACL does not let Hearth"));

async function toy(mosq: Mosquitto, sn: keyof typeof USERS) {
  const sim = new SimToy({ mqtt: mosq.url, sn, key: USERS[sn] });
  cleanups.push(() => sim.close());
  await sim.connect();
  await sim.login(1);
  return sim;
}

describe("Hearth on a migrating owner's Mosquitto", () => {
  test("FoloToy's ACL: toys work; Hearth says once that the integration topics need 'topic readwrite /sys/#'", async () => {
    const mosq = await folotoyMosquitto(FOLOTOY_ACL);
    cleanups.push(() => mosq.stop());
    expect(await checkBrokerAcl({ url: mosq.url, username: "folotoy", password: "folotoy" })).toEqual([
      expect.objectContaining({ line: "topic readwrite /sys/#", denied: ["publish"] }),
    ]);

    const { h, logs } = await hearthOn(mosq);
    await waitFor(() => aclWarnings(logs.lines).length > 0, 10_000, "the ACL warning");
    const warning = aclWarnings(logs.lines)[0]!;
    expect(warning).toContain('under "user folotoy"');
    expect(warning).toContain('add="topic readwrite /sys/#"');
    expect(warning).toContain("publish /sys/folotoy/<sn>/thing/event/post");
    expect(warning).not.toMatch(/add="[^"]*\/user\/folotoy/); // the toys' topics are allowed

    // the toy's side of the protocol is allowed: login, token, a whole turn
    const sim = await toy(mosq, "e465b82b9ec8");
    expect(sim.udp).toEqual({ host: "127.0.0.1", port: h.toy.udpPort });
    const turn = await sim.say(UTT(1), { pace: 4 });
    expect(turn.error).toBeUndefined();
    expect(turn.audioplays.map((a) => a.order)).toEqual(REPLY_SENTENCES.map((_, i) => i + 1));
    // FoloToy's ACL does not let toys publish data/post: their settings never arrive
    sim.data("data_config", { timeout: 20, volume: 40, record_type: 1 });
    await Bun.sleep(500);
    expect(h.toy.devices().find((d) => d.sn === "e465b82b9ec8")?.timeoutSeconds).toBeUndefined();
    expect(aclWarnings(logs.lines)).toHaveLength(1); // said once
  }, 60_000);

  test("with the lines docs/toy.md gives: no warning, the toys' settings arrive, integrations get the mirror", async () => {
    const mosq = await folotoyMosquitto([...FOLOTOY_ACL, "", ...HEARTH_LINES]);
    cleanups.push(() => mosq.stop());
    expect(await checkBrokerAcl({ url: mosq.url, username: "folotoy", password: "folotoy" })).toEqual([]);

    const { h, logs } = await hearthOn(mosq);
    const integration = await mqtt.connectAsync(mosq.url, { clientId: "integration-test", username: "folotoy", password: "folotoy" });
    cleanups.push(() => integration.endAsync());
    const mirrored: any[] = [];
    integration.on("message", (_t, p) => mirrored.push(JSON.parse(p.toString())));
    await integration.subscribeAsync(topics.sysEventPost("+"), { qos: 1 });

    const sim = await toy(mosq, "aabbccddee21");
    sim.data("data_config", { timeout: 20, volume: 40, record_type: 1 });
    await waitFor(() => h.toy.devices().find((d) => d.sn === "aabbccddee21")?.timeoutSeconds === 20, 5000, "the toy's settings");
    const turn = await sim.say(UTT(2), { pace: 4 });
    expect(turn.error).toBeUndefined();
    await waitFor(() => mirrored.filter((m) => m.identifier === "voice_generated").length === REPLY_SENTENCES.length, 5000, "the mirror");
    expect(mirrored.find((m) => m.identifier === "voice_generated").inputParams).toMatchObject({ recordingId: turn.recordingId, order: 1, voiceText: REPLY_SENTENCES[0] });
    await Bun.sleep(300); // the check's verdict is in by now
    expect(aclWarnings(logs.lines)).toEqual([]);
  }, 60_000);

  test("an ACL that lets Hearth write but not read the integration topics is found too", async () => {
    const mosq = await folotoyMosquitto(["user folotoy", "topic readwrite /user/folotoy/#", "topic write /sys/#"]);
    cleanups.push(() => mosq.stop());
    expect(await checkBrokerAcl({ url: mosq.url, username: "folotoy", password: "folotoy" })).toEqual([
      expect.objectContaining({ line: "topic readwrite /sys/#", denied: ["subscribe"] }),
    ]);
  });
});
