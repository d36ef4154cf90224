// The chat API's role personas (model "role:N") on the real pipeline with fake engines, through the
// official openai client: the turn's reply, 429 when the LLM queue is full, 503 while loading.
import { afterAll, beforeAll, expect, test } from "bun:test";
import OpenAI from "openai";
import { apiRoutes } from "../../../src/api/routes.ts";
import { loadConfig } from "../../../src/config/load.ts";
import { Busy, NotReady } from "../../../src/errors.ts";
import { HttpServer } from "../../../src/http/server.ts";
import { setLogLevel } from "../../../src/log.ts";
import { fakePipeline } from "../../support/fake-pipeline.ts";

setLogLevel("error");
const fake = fakePipeline();
let ready = true;
let server: HttpServer;
let client: OpenAI;

beforeAll(() => {
  const config = loadConfig(undefined, { HEARTH_STATE_DIR: fake.stateDir });
  const pipeline = () => {
    if (!ready) throw new NotReady("Hearth is starting: loading models. Try again shortly.");
    return fake.pipeline;
  };
  server = new HttpServer({ host: "127.0.0.1", port: 0, apiKeys: [], maxBodyBytes: 1e6 }, apiRoutes({ config, pipeline, engines: () => pipeline().engines }));
  client = new OpenAI({ baseURL: `${server.url.href}v1`, apiKey: "unused", maxRetries: 0 });
});

afterAll(async () => {
  await server.stop();
  await fake.cleanup();
});

test("role:1 answers through the shared turn and keeps the conversation per user", async () => {
  const reply = await client.chat.completions.create({ model: "role:1", user: "kid", messages: [{ role: "user", content: "Tell me a story" }] });
  expect(reply.choices[0]!.message.content).toBe("Once upon a time. There was a rabbit. The end.");
  expect(fake.llm.seen.at(-1)!.map((m) => m.content)).toEqual(["Be kind.", "You are a rabbit.", "Hi, I am a rabbit.", "Tell me a story"]);
  expect(fake.pipeline.conversations.history({ frontEnd: "api", device: "kid", role: "1" }).length).toBe(1);
  expect(fake.pipeline.conversations.turn(reply.id)).toMatchObject({ outcome: "replied", source: "api" });
});

test("a full LLM queue is a 429 the SDK can retry (queue_full)", async () => {
  fake.llm.failWith = new Busy("the language model is busy (4 requests waiting); try again shortly");
  try {
    const error = await client.chat.completions.create({ model: "role:1", messages: [{ role: "user", content: "hi" }] }).catch((e) => e);
    expect(error.status).toBe(429);
    expect(error.error).toMatchObject({ type: "rate_limit_error", code: "queue_full" });
  } finally {
    fake.llm.failWith = undefined;
  }
});

test("while the models load, every endpoint answers 503 not_ready", async () => {
  ready = false;
  try {
    const error = await client.chat.completions.create({ model: "role:1", messages: [{ role: "user", content: "hi" }] }).catch((e) => e);
    expect(error.status).toBe(503);
    expect(error.error).toMatchObject({ code: "not_ready" });
    expect((await fetch(`${server.url.href}v1/models`)).status).toBe(503);
  } finally {
    ready = true;
  }
});
