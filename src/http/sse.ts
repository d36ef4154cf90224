// A text/event-stream response that keeps the connection alive while the engines think,
// and tells the producer when the client has gone.
import { errorPayload } from "./errors.ts";

export interface SseWriter {
  /** Sends one `data:` event (objects are JSON-encoded). */
  send(data: unknown): void;
  /** True once the client disconnected or the stream was closed. */
  readonly closed: boolean;
  /** Aborted when the client disconnects. */
  readonly signal: AbortSignal;
}

const KEEP_ALIVE_MS = 5000;

/** An error after the stream started cannot change the status: it goes out as a final `data:` event. */
export function sseResponse(req: Request, produce: (sse: SseWriter) => Promise<void>): Response {
  const encoder = new TextEncoder();
  const disconnect = new AbortController();
  req.signal.addEventListener("abort", () => disconnect.abort(), { once: true });
  let closed = false;
  let timer: ReturnType<typeof setInterval> | undefined;
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
        send: (data) => write(`data: ${typeof data === "string" ? data : JSON.stringify(data)}\n\n`),
        get closed() {
          return closed || disconnect.signal.aborted;
        },
        signal: disconnect.signal,
      };
      write(": connected\n\n");
      timer = setInterval(() => write(": keep-alive\n\n"), KEEP_ALIVE_MS);
      produce(writer)
        .catch((e) => {
          const { body } = errorPayload(e, new URL(req.url).pathname);
          if (body && !writer.closed) writer.send(body);
        })
        .finally(() => {
          clearInterval(timer);
          if (!closed) {
            closed = true;
            try {
              controller.close();
            } catch {}
          }
        });
    },
    cancel() {
      closed = true;
      clearInterval(timer);
      disconnect.abort();
    },
  });
  return new Response(stream, {
    headers: { "Content-Type": "text/event-stream; charset=utf-8", "Cache-Control": "no-cache", Connection: "keep-alive", "X-Accel-Buffering": "no" },
  });
}
