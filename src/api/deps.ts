import type { LoadedConfig } from "../config/load.ts";
import type { Engines } from "../engines/types.ts";
import type { Pipeline } from "../pipeline/pipeline.ts";

export interface ApiDeps {
  config: LoadedConfig;
  /** The running pipeline; throws NotReady (503) while models are still loading. */
  pipeline(): Pipeline;
  /** pipeline().engines */
  engines(): Engines;
}
