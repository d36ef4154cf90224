// What /health checks beyond "models loaded, listeners up": that state can be written (toy
// tokens, history and reply audio live there) and that turns are not all failing. A health check
// that stays 200 while every toy turn fails helps nobody.
import { unlinkSync } from "node:fs";
import { join } from "node:path";
import { checkApiKey } from "./http/auth.ts";
import { writeFileDurable } from "./util/durable.ts";

/** The state folder is written to at most this often by /health (the answer is kept meanwhile). */
const PROBE_EVERY_MS = 5_000;
/** This many turns in a row failing (for a reason other than load) makes Hearth not ready. */
export const FAILED_TURNS_IN_A_ROW = 3;
/** ... if the latest of them is this recent. */
const RECENT_MS = 10 * 60_000;

/** Writes, fsyncs and deletes a small file in the state folder; says what is wrong when it cannot. */
export class StateProbe {
  private last?: { at: number; problem?: string };

  constructor(private readonly dir: string) {}

  problem(now = Date.now()): string | undefined {
    if (this.last && now - this.last.at < PROBE_EVERY_MS) return this.last.problem;
    const file = join(this.dir, ".health-probe");
    let problem: string | undefined;
    try {
      writeFileDurable(file, `${now}\n`);
      unlinkSync(file);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
      problem = `the state folder ${this.dir} cannot be written (${code}): toy tokens, history and reply audio cannot be saved`;
    }
    this.last = { at: now, problem };
    return problem;
  }
}

interface TurnSummary {
  at: number;
  outcome?: unknown;
  error?: unknown;
}

/**
 * A reason when the most recent turns (newest first) all failed within the last minutes: an
 * engine or the disk is broken. A full queue (Busy) is load, not breakage, and does not count.
 */
export function failingTurns(newestFirst: readonly TurnSummary[], now = Date.now()): string | undefined {
  const recent = newestFirst.slice(0, FAILED_TURNS_IN_A_ROW);
  if (recent.length < FAILED_TURNS_IN_A_ROW || now - recent[0]!.at > RECENT_MS) return undefined;
  const broken = recent.every((t) => t.outcome === "failed" && !/busy/i.test(String(t.error ?? "")));
  return broken ? `the last ${FAILED_TURNS_IN_A_ROW} turns failed (the latest: ${String(recent[0]!.error ?? "unknown error")})` : undefined;
}

/**
 * /metrics: open when neither [http] metrics_token nor api_keys are set; otherwise it needs
 * "Authorization: Bearer <metrics_token or an API key>" (Unauthorized otherwise).
 */
export function checkMetricsAccess(req: Request, apiKeys: string[], metricsToken: string) {
  const keys = metricsToken ? [...apiKeys, metricsToken] : apiKeys;
  checkApiKey(req, keys);
}
