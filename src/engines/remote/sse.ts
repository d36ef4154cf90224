// Server-sent events from a fetch body: the `data:` of each event, as text. Comments (": keep-alive")
// and other fields are skipped, but every chunk that arrives counts as a sign of life (`onBytes`).

export async function* sseData(body: ReadableStream<Uint8Array>, onBytes: () => void = () => {}): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let buffer = "";
  for await (const bytes of chunksOf(body)) {
    onBytes();
    buffer += decoder.decode(bytes, { stream: true }).replace(/\r\n?/g, "\n");
    for (let end = buffer.indexOf("\n\n"); end >= 0; end = buffer.indexOf("\n\n")) {
      const event = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const data = dataOf(event);
      if (data !== undefined) yield data;
    }
  }
  const data = dataOf(buffer + decoder.decode());
  if (data !== undefined) yield data;
}

function dataOf(event: string): string | undefined {
  const lines = event
    .split("\n")
    .filter((line) => line.startsWith("data:"))
    .map((line) => line.slice(line.startsWith("data: ") ? 6 : 5));
  return lines.length ? lines.join("\n") : undefined;
}

/** The chunks of a fetch body as they arrive. */
export async function* chunksOf(body: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
  const reader = body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      yield value;
    }
  } finally {
    reader.releaseLock();
  }
}
