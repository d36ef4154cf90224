// Commands to toys (toy-protocol.md §3): numbered, remembered until acknowledged, acks matched
// and mirrored back to an integration that asked for the command.
import { logger } from "../../log.ts";
import type { Broker } from "./broker.ts";
import { command, mirrorEvent, topics } from "./mqtt.ts";

const log = logger("toy");

/** Commands not acknowledged within this long are forgotten (logged at debug). */
const ACK_WAIT_MS = 60_000;

interface Pending {
  sn: string;
  identifier: string;
  at: number;
  /** Set when the command was relayed from an integration: its ack is mirrored back. */
  relay?: { msgId: number | null };
}

export class Commands {
  private readonly pending = new Map<number, Pending>();
  private msgId = 0;

  constructor(private readonly broker: () => Broker | undefined) {}

  send(sn: string, identifier: string, params: Record<string, unknown>, relay?: Pending["relay"]) {
    const msgId = this.nextMsgId();
    this.pending.set(msgId, { sn, identifier, at: Date.now(), relay });
    this.broker()?.publish(topics.commandCall(sn), command(msgId, identifier, params));
    log.debug("command", { sn, msgId, identifier });
  }

  /** Publishes an integration-mirror event on /sys/folotoy/{sn}/thing/event/post, shaped as the official server's. */
  mirror(sn: string, identifier: string, params: Record<string, unknown>) {
    this.broker()?.publish(topics.sysEventPost(sn), mirrorEvent(this.nextMsgId(), identifier, params));
  }

  /** A toy's ack: matched to its command, mirrored to the integration that asked for it. */
  onAck(sn: string, msgId: number | null, identifier: string, result: number | null) {
    const p = msgId === null ? undefined : this.pending.get(msgId);
    if (!p) return log.debug("ack for no pending command", { sn, msgId, identifier, result });
    this.pending.delete(msgId!);
    if (p.sn !== sn || (identifier && p.identifier !== identifier)) {
      log.warn("ack does not match the command it names", { sn, msgId, identifier, sentTo: p.sn, sent: p.identifier });
    }
    if (result === 0) log.warn("toy reports a command failed", { sn, msgId, identifier: p.identifier });
    else log.debug("ack", { sn, msgId, identifier: p.identifier, ms: Date.now() - p.at });
    if (p.relay) this.broker()?.publish(topics.sysCommandCallAck(sn), { msgId: p.relay.msgId ?? msgId, identifier: p.identifier, result: result ?? 1 });
  }

  /** Forgets commands that were never acknowledged. */
  tidy(now = Date.now()) {
    for (const [id, p] of this.pending) {
      if (now - p.at < ACK_WAIT_MS) continue;
      this.pending.delete(id);
      log.debug("no ack from the toy", { sn: p.sn, msgId: id, identifier: p.identifier });
    }
  }

  /** The server's own msgId counter (toys echo it in their acks). */
  private nextMsgId(): number {
    this.msgId = this.msgId >= 0x7fffffff ? 1 : this.msgId + 1;
    return this.msgId;
  }
}
