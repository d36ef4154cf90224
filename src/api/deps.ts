import type { LoadedConfig } from "../config/load.ts";
import type { Engines } from "../engines/index.ts";

export interface ApiDeps {
  config: LoadedConfig;
  /** The loaded engines; throws NotReady (503) while models are still loading. */
  engines(): Engines;
}
