// A text/event-stream response that keeps the connection alive while the engines think,
// and tells the producer when the client has gone.
import { errorPayload } from "./errors.ts";

export interface SseWriter {
  /** Sends one `data:` event (objects are JSON-encoded), with an `event:` name when given. */
  send(data: unknown, event?: string): void;
  /** True once the client disconnected or the stream was closed. */
  readonly closed: boolean;
  /** Aborted when the client disconnects. */
  readonly signal: AbortSignal;
}

export interface SseOptions {
  /**
   * The event an error after the start becomes (default: a `data:` event with OpenAI's
   * `{"error": {...}}` body). Gets that body, already mapped by the one error mapper.
   */
  errorEvent?: (body: { error: Record<string, unknown> }) => { data: unknown; event?: string };
}

const KEEP_ALIVE_MS = 5000;
const HEADERS = { "Content-Type": "text/event-stream; charset=utf-8", "Cache-Control": "no-cache", Connection: "keep-alive", "X-Accel-Buffering": "no" };

/**
 * Answers 200 at once and streams what `produce` sends. Decide everything that can refuse the
 * request (validation, admission) before calling it: an error after the start cannot change the
 * status, so it goes out as a final event.
 */
export function sseResponse(req: Request, produce: (sse: SseWriter) => Promise<void>, opts: SseOptions = {}): Response {
  return startStream(req, produce, opts, false).response;
}

/**
 * Like sseResponse, but the 200 waits for the first event (or the end): an error before it is an
 * ordinary error response with its own status (e.g. 429 when an engine queue turns the request
 * away). For producers that cannot know they will be admitted until their work starts.
 */
export function sseResponseAfterFirstEvent(req: Request, produce: (sse: SseWriter) => Promise<void>, opts: SseOptions = {}): Promise<Response> {
  const { response, committed } = startStream(req, produce, opts, true);
  return committed.then(() => response);
}

function startStream(req: Request, produce: (sse: SseWriter) => Promise<void>, opts: SseOptions, deferred: boolean) {
  const encoder = new TextEncoder();
  const disconnect = new AbortController();
  req.signal.addEventListener("abort", () => disconnect.abort(), { once: true });
  let closed = false;
  let timer: ReturnType<typeof setInterval> | undefined;
  let commit!: () => void;
  let refuse!: (e: unknown) => void;
  let isCommitted = !deferred;
  const committed = new Promise<void>((resolve, reject) => {
    commit = () => {
      isCommitted = true;
      resolve();
    };
    refuse = reject;
  });
  if (!deferred) commit();

  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      const write = (text: string) => {
        if (closed) return;
        try {
          controller.enqueue(encoder.encode(text));
        } catch {
          closed = true;
          disconnect.abort();
        }
      };
      const writer: SseWriter = {
        send: (data, event) => {
          if (!isCommitted) commit();
          write(`${event ? `event: ${event}\n` : ""}data: ${typeof data === "string" ? data : JSON.stringify(data)}\n\n`);
        },
        get closed() {
          return closed || disconnect.signal.aborted;
        },
        signal: disconnect.signal,
      };
      write(": connected\n\n");
      timer = setInterval(() => write(": keep-alive\n\n"), KEEP_ALIVE_MS);
      const close = () => {
        clearInterval(timer);
        if (!closed) {
          closed = true;
          try {
            controller.close();
          } catch {}
        }
      };
      produce(writer)
        .then(
          () => commit(),
          (e) => {
            if (!isCommitted) {
              refuse(e); // nothing was sent: the caller answers with the error's own status
              return;
            }
            const { body } = errorPayload(e, new URL(req.url).pathname);
            if (!body || writer.closed) return;
            const shaped = opts.errorEvent?.(body as { error: Record<string, unknown> });
            if (shaped) writer.send(shaped.data, shaped.event);
            else writer.send(body);
          },
        )
        .finally(close);
    },
    cancel() {
      closed = true;
      clearInterval(timer);
      disconnect.abort();
    },
  });
  return { response: new Response(stream, { headers: HEADERS }), committed };
}
