// The contract every device front end (FoloToy, later xiaozhi) implements. app.ts starts a list
// of them after the pipeline; each translates its protocol into pipeline turns and back.
import type { Routes, SocketRoutes } from "../http/routes.ts";
import type { ToyStatus } from "../pipeline/types.ts";

export interface DeviceFrontEnd {
  /** The front end's name, also the `frontEnd` of its conversation keys: "folotoy". */
  readonly name: string;
  /** HTTP routes it serves (e.g. reply audio downloads). */
  readonly routes: Routes;
  /** WebSocket endpoints it serves (xiaozhi devices), on the same HTTP port. */
  readonly sockets?: SocketRoutes;
  /** Opens its listeners; rejects when it cannot (a busy port names the setting). */
  start(): Promise<void>;
  /** Ends its turns and closes its listeners. */
  stop(): Promise<void>;
  /** Whether its listeners are up, and why not. */
  ready(): { ok: boolean; reasons: string[] };
  /** The devices it knows, for the console. */
  devices(): ToyStatus[];
  /** What it listens on, for the ready log line (e.g. { mqtt: 1883, udp: 8085 }). */
  listening(): Record<string, number | string>;
  /** One line telling a person how to point a device at this Hearth, reached at `host`. */
  howToConnect?(host: string, httpPort: number): string;
}
