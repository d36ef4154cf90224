// Does an external broker's ACL let Hearth do its job? Owners migrating from folotoy-server keep
// the Mosquitto they had, with FoloToy's mosquitto/acl.conf, which gives the server user only
// `topic readwrite /user/folotoy/#`: Hearth's integration topics (/sys/...) are then silently
// dropped. Mosquitto grants such subscriptions (SUBACK 1) and only filters what it delivers, and
// an MQTT 3.1.1 publish has no failure reply, so neither tells. This check asks once, at start, on
// its own short MQTT 5 connection: a denied publish gets PUBACK 0x87 (not authorized), a denied
// read simply never delivers the probe back. The probes use the real topic shapes for a toy SN
// no toy has, so no toy and no topic Hearth itself subscribes to ever sees them.
import mqtt from "mqtt";
import { logger } from "../../log.ts";

const log = logger("toy");

/** The SN the probes are addressed to (a valid SN no toy has). */
export const PROBE_SN = "hearthaclcheck";

export interface AclRule {
  /** A topic of the shape Hearth uses, for the probe SN. */
  topic: string;
  /** What breaks when the ACL denies it. */
  needed: string;
  /** The ACL line that allows it, under `user <Hearth's user>`. */
  line: string;
}

export const ACL_RULES: AclRule[] = [
  {
    topic: `/user/folotoy/${PROBE_SN}/thing/command/call`,
    needed: "toys get no commands (token, UDP address, replies)",
    line: "topic readwrite /user/folotoy/#",
  },
  {
    topic: `/sys/folotoy/${PROBE_SN}/thing/event/post`,
    needed: "integrations get no transcripts or replies, and their iwantplay and /sys/config requests go unanswered",
    line: "topic readwrite /sys/#",
  },
];

export interface AclProblem extends AclRule {
  denied: ("publish" | "subscribe")[];
}

export interface AclCheckOptions {
  url: string;
  username: string;
  password: string;
  /** How long to wait for the broker and for probes to come back. */
  timeoutMs?: number;
}

/**
 * Probes each rule: publish (QoS 1, MQTT 5) and read back. Resolves with the rules the ACL
 * denies, or undefined when the check could not run (broker unreachable, no MQTT 5).
 */
export async function checkBrokerAcl(opts: AclCheckOptions): Promise<AclProblem[] | undefined> {
  const timeoutMs = opts.timeoutMs ?? 5000;
  let client: mqtt.MqttClient | undefined;
  try {
    client = await mqtt.connectAsync(opts.url, {
      clientId: `hearth-acl-check-${Math.random().toString(16).slice(2, 10)}`,
      username: opts.username || undefined,
      password: opts.password || undefined,
      protocolVersion: 5,
      clean: true,
      reconnectPeriod: 0,
      connectTimeout: timeoutMs,
    });
  } catch (e) {
    log.debug("broker ACL check skipped: cannot connect with MQTT 5", { url: opts.url, error: (e as Error).message });
    return undefined;
  }
  try {
    const received = new Set<string>();
    client.on("message", (topic) => received.add(topic));
    await client.subscribeAsync(ACL_RULES.map((r) => r.topic), { qos: 1 });
    const problems: AclProblem[] = [];
    const published: AclRule[] = [];
    for (const rule of ACL_RULES) {
      const payload = JSON.stringify({ msgId: 0, identifier: "hearth_acl_check", inputParams: {} });
      const denied = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), timeoutMs);
        client!.publish(rule.topic, payload, { qos: 1 }, (e) => {
          clearTimeout(timer);
          resolve((e as { code?: number } | undefined)?.code === 0x87);
        });
      });
      if (denied) problems.push({ ...rule, denied: ["publish"] });
      else published.push(rule);
    }
    const end = Date.now() + Math.min(timeoutMs, 2000);
    while (published.some((r) => !received.has(r.topic)) && Date.now() < end) await Bun.sleep(20);
    for (const rule of published) if (!received.has(rule.topic)) problems.push({ ...rule, denied: ["subscribe"] });
    for (const p of problems) {
      const twice = problems.filter((q) => q.line === p.line);
      if (twice.length > 1) p.denied = [...new Set(twice.flatMap((q) => q.denied))];
    }
    return problems.filter((p, i) => problems.findIndex((q) => q.line === p.line) === i);
  } finally {
    await client.endAsync(true).catch(() => {});
  }
}

/** The one warning for what an ACL denies: what breaks, and the lines to add (as a log message and its fields). */
export function describeAclProblems(problems: AclProblem[], username: string, url: string): { message: string; fields: Record<string, string> } {
  const user = username || "<Hearth's user>";
  return {
    message:
      `the MQTT broker's ACL does not let Hearth's user "${username || "(anonymous)"}" use topics it needs. ` +
      `Add ${problems.length === 1 ? "this line" : "these lines"} under "user ${user}" in the broker's ACL file (FoloToy's mosquitto/acl.conf only has "topic readwrite /user/folotoy/#") and restart the broker; see docs/toy.md, "Moving from folotoy-server"`,
    fields: {
      add: problems.map((p) => p.line).join(" | "),
      denied: problems.map((p) => `${p.denied.includes("publish") ? "publish" : "read"} ${p.topic.replace(PROBE_SN, "<sn>")}: ${p.needed}`).join(" | "),
      broker: url,
    },
  };
}

/** Runs the check and logs the result once: a warning with the lines to add, or a debug line. */
export async function warnAboutBrokerAcl(opts: AclCheckOptions): Promise<AclProblem[] | undefined> {
  const problems = await checkBrokerAcl(opts);
  if (problems?.length) {
    const { message, fields } = describeAclProblems(problems, opts.username, opts.url);
    log.warn(message, fields);
  }
  else if (problems) log.debug("the MQTT broker's ACL allows every topic Hearth uses", { url: opts.url });
  return problems;
}
