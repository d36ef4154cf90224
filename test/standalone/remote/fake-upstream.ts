// A small OpenAI-compatible server on a free loopback port whose behaviour a test switches: answer,
// refuse (429/503), fail (500), hang, break a stream after its first piece, or go away entirely.
// Real HTTP, so the remote engines' own fetch, SSE parsing and timeouts are what is tested.

export type Behaviour = "ok" | "busy" | "error" | "hang" | "break-mid-stream" | "bad-request";

export interface FakeUpstream {
  url: string;
  port: number;
  behaviour: Behaviour;
  /** POSTs received, with their JSON bodies (chat) or form fields (transcription). */
  requests: { path: string; body: any }[];
  /** What each chat completion answers (split into pieces of 4 characters). */
  reply: string;
  /** Wait this long before answering a POST. */
  delayMs: number;
  close(): void;
  /** Listens again on the same port (after close). */
  reopen(): void;
}

/** `ownedBy: "llamacpp"` makes it look like llama-server (GET /props with `slots` slots). */
export function fakeUpstream(opts: { ownedBy?: string; port?: number; reply?: string; slots?: number } = {}): FakeUpstream {
  let server: ReturnType<typeof Bun.serve> | undefined;
  const state: FakeUpstream = {
    url: "",
    port: 0,
    behaviour: "ok",
    requests: [],
    reply: opts.reply ?? "Hello there. How are you?",
    delayMs: 0,
    close: () => server?.stop(true),
    reopen: () => listen(state.port),
  };
  const listen = (port: number) => {
    server = Bun.serve({
      hostname: "127.0.0.1",
      port,
      idleTimeout: 0,
      fetch: async (req) => {
        const path = new URL(req.url).pathname;
        if (req.method === "GET" && path === "/v1/models") return Response.json({ object: "list", data: [{ id: "fake-model", object: "model", owned_by: opts.ownedBy ?? "someone" }] });
        if (req.method === "GET" && path === "/props" && opts.ownedBy === "llamacpp") return Response.json({ total_slots: opts.slots ?? 2, default_generation_settings: { n_ctx: 1024 } });
        if (req.method === "GET" && path === "/v1/audio/voices") return Response.json({ voices: [{ id: "amy", language: "en", speakers: 1, sample_rate: 16000 }] });
        if (req.method !== "POST") return new Response("not found", { status: 404 });
        const body = req.headers.get("content-type")?.includes("json") ? await req.json() : Object.fromEntries((await req.formData()).entries());
        state.requests.push({ path, body });
        if (state.delayMs) await Bun.sleep(state.delayMs);
        switch (state.behaviour) {
          case "busy":
            return Response.json({ error: { message: "server busy", type: "rate_limit_error" } }, { status: 429, headers: { "Retry-After": "1" } });
          case "error":
            return Response.json({ error: { message: "it broke", type: "server_error" } }, { status: 500 });
          case "bad-request":
            return Response.json({ error: { message: "the request exceeds the available context size", type: "exceed_context_size_error", code: 400 } }, { status: 400 });
          case "hang":
            return new Promise<Response>(() => {});
        }
        if (path === "/v1/chat/completions") return chatStream(state.reply, state.behaviour === "break-mid-stream");
        if (path === "/v1/audio/transcriptions") return Response.json({ text: "hello world", language: "english", duration: 1, segments: [{ start: 0, end: 1, text: " hello world" }] });
        if (path === "/v1/audio/speech") return new Response(new Uint8Array(3200), { headers: { "Content-Type": "audio/pcm", "X-Sample-Rate": "16000" } });
        return new Response("not found", { status: 404 });
      },
    });
    state.port = server.port!;
    state.url = `http://127.0.0.1:${state.port}/v1`;
  };
  listen(opts.port ?? 0);
  return state;
}

function chatStream(reply: string, breakMidStream: boolean): Response {
  const pieces = reply.match(/.{1,4}/gs) ?? [];
  const chunk = (delta: object, finish: string | null) => `data: ${JSON.stringify({ object: "chat.completion.chunk", choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
  const stream = new ReadableStream<string>({
    async start(controller) {
      controller.enqueue(chunk({ role: "assistant", content: "" }, null));
      for (const [i, piece] of pieces.entries()) {
        controller.enqueue(chunk({ content: piece }, null));
        if (breakMidStream && i === 0) {
          await Bun.sleep(20);
          controller.close(); // the connection ends with the reply unfinished (no finish_reason, no [DONE])
          return;
        }
      }
      controller.enqueue(chunk({}, "stop"));
      controller.enqueue(`data: ${JSON.stringify({ object: "chat.completion.chunk", choices: [], usage: { prompt_tokens: 20, completion_tokens: pieces.length } })}\n\n`);
      controller.enqueue("data: [DONE]\n\n");
      controller.close();
    },
  });
  return new Response(stream, { headers: { "Content-Type": "text/event-stream" } });
}

/** A loopback port nothing listens on (connection refused). */
export function closedPort(): number {
  const s = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() });
  const port = s.port!;
  s.stop(true);
  return port;
}
