// Function tools through the three clients' own tool APIs (the official SDK's `tools`, the Vercel
// AI SDK's `tools` on both of its OpenAI paths, LangChain's `bindTools`) against a real Hearth on
// the fixture models. The random test model never chooses a tool by itself, so the tests force a
// call (a named function or "required"): node-llama-cpp's grammar then constrains the name to the
// offered tools and the arguments to the tool's schema, which each test checks with the schema.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createOpenAI } from "@ai-sdk/openai";
import { AIMessage, AIMessageChunk, HumanMessage, ToolMessage } from "@langchain/core/messages";
import { tool as langchainTool } from "@langchain/core/tools";
import { ChatOpenAI } from "@langchain/openai";
import { generateText, stepCountIs, streamText, tool } from "ai";
import OpenAI from "openai";
import { z } from "zod";
import type { Hearth } from "../../../src/app.ts";
import { startTestHearth } from "../../support/hearth.ts";

// Enums keep the random model's arguments short (a free string could run past max_tokens).
const timerArgs = z.object({ minutes: z.union([z.literal(1), z.literal(5), z.literal(10)]), label: z.enum(["tea", "eggs", "bath"]) }).strict();
const weatherArgs = z.object({ city: z.enum(["Paris", "Oslo"]), unit: z.enum(["c", "f"]) }).strict();
const TIMER = {
  name: "set_timer",
  description: "Sets a kitchen timer.",
  parameters: {
    type: "object",
    properties: { minutes: { type: "integer", enum: [1, 5, 10] }, label: { type: "string", enum: ["tea", "eggs", "bath"] } },
    required: ["minutes", "label"],
    additionalProperties: false,
  },
};
const WEATHER = {
  name: "get_weather",
  description: "The weather in a city.",
  parameters: {
    type: "object",
    properties: { city: { type: "string", enum: ["Paris", "Oslo"] }, unit: { type: "string", enum: ["c", "f"] } },
    required: ["city", "unit"],
    additionalProperties: false,
  },
};
const SCHEMAS: Record<string, z.ZodType> = { set_timer: timerArgs, get_weather: weatherArgs };
const chatTools = [TIMER, WEATHER].map((f) => ({ type: "function" as const, function: f }));
const PINNED = "It is sunny in Paris.";

let hearth: Hearth;
let client: OpenAI;

beforeAll(async () => {
  hearth = await startTestHearth();
  client = new OpenAI({ baseURL: `${hearth.url}/v1`, apiKey: "unused", maxRetries: 0 });
}, 120_000);

afterAll(async () => {
  await hearth?.stop();
});

describe("official openai SDK", () => {
  test("a named tool_choice: one call of that function, its arguments matching the schema", async () => {
    const completion = await client.chat.completions.create({
      model: "gpt-4o-mini",
      messages: [{ role: "user", content: "Start a tea timer." }],
      tools: chatTools,
      tool_choice: { type: "function", function: { name: "set_timer" } },
      max_tokens: 80,
    });
    const choice = completion.choices[0]!;
    expect(choice.finish_reason).toBe("tool_calls");
    expect(choice.message.content).toBeNull();
    const calls = choice.message.tool_calls!;
    expect(calls).toHaveLength(1);
    const call = calls[0]!;
    if (call.type !== "function") throw new Error(`expected a function call, got ${call.type}`);
    expect(call.id).toMatch(/^call_/);
    expect(call.function.name).toBe("set_timer");
    timerArgs.parse(JSON.parse(call.function.arguments));
    expect(completion.usage!.completion_tokens).toBeGreaterThan(3);
    expect(completion.usage!.completion_tokens).toBeLessThanOrEqual(80);
  }, 60_000);

  test('tool_choice "required", streamed: tool_calls deltas the SDK assembles into a valid call', async () => {
    const stream = client.chat.completions.stream({
      model: "gpt-4o-mini",
      messages: [{ role: "user", content: "What is the weather in Oslo?" }],
      tools: chatTools,
      tool_choice: "required",
      max_tokens: 80,
    });
    const deltas: OpenAI.Chat.Completions.ChatCompletionChunk.Choice.Delta.ToolCall[] = [];
    for await (const chunk of stream) deltas.push(...(chunk.choices[0]?.delta.tool_calls ?? []));
    const final = await stream.finalChatCompletion();
    const choice = final.choices[0]!;
    expect(choice.finish_reason).toBe("tool_calls");
    const call = choice.message.tool_calls![0]!;
    if (call.type !== "function") throw new Error(`expected a function call, got ${call.type}`);
    expect(["set_timer", "get_weather"]).toContain(call.function.name);
    SCHEMAS[call.function.name]!.parse(JSON.parse(call.function.arguments));
    // the id and name come first, then the arguments in more than one piece
    expect(deltas[0]).toMatchObject({ index: 0, id: call.id, type: "function", function: { name: call.function.name, arguments: "" } });
    expect(deltas.length).toBeGreaterThan(2);
    expect(deltas.map((d) => d.function?.arguments ?? "").join("")).toBe(call.function.arguments);
  }, 60_000);

  test("the tool's result in the history reaches the model, which then answers in text", async () => {
    const history = (result: string): OpenAI.Chat.Completions.ChatCompletionMessageParam[] => [
      { role: "user", content: "What is the weather in Paris?" },
      { role: "assistant", content: null, tool_calls: [{ id: "call_1", type: "function", function: { name: "get_weather", arguments: '{"city": "Paris", "unit": "c"}' } }] },
      { role: "tool", tool_call_id: "call_1", content: result },
    ];
    const answer = (result: string) =>
      client.chat.completions.create({
        model: "gpt-4o-mini",
        messages: history(result),
        tools: chatTools,
        tool_choice: "none", // text only, so the grammar can pin the random model's words
        max_tokens: 20,
        ...({ grammar: `root ::= "${PINNED}"` } as {}),
      });
    const short = await answer('{"sky": "sunny"}');
    expect(short.choices[0]!.message.content).toBe(PINNED);
    expect(short.choices[0]!.finish_reason).toBe("stop");
    // a longer result makes a longer prompt: the result is in it
    const long = await answer(JSON.stringify({ sky: "sunny", detail: "warm and bright with a light breeze from the west all afternoon" }));
    expect(long.usage!.prompt_tokens).toBeGreaterThan(short.usage!.prompt_tokens + 8);
  }, 60_000);

  test("responses: a forced function_call, then its output sent back with previous_response_id", async () => {
    const tools = [TIMER, WEATHER].map((f) => ({ type: "function" as const, strict: true, ...f }));
    const first = await client.responses.create({
      model: "gpt-4o-mini",
      input: "What is the weather in Paris?",
      tools,
      tool_choice: { type: "function", name: "get_weather" },
      max_output_tokens: 80,
    });
    expect(first.status).toBe("completed");
    const calls = first.output.filter((item) => item.type === "function_call");
    expect(calls).toHaveLength(1);
    expect(calls[0]!.name).toBe("get_weather");
    weatherArgs.parse(JSON.parse(calls[0]!.arguments));
    const second = await client.responses.create({
      model: "gpt-4o-mini",
      previous_response_id: first.id,
      input: [{ type: "function_call_output", call_id: calls[0]!.call_id, output: '{"sky": "sunny"}' }],
      tools,
      tool_choice: "none",
      max_output_tokens: 20,
      ...({ grammar: `root ::= "${PINNED}"` } as {}),
    });
    expect(second.output_text).toBe(PINNED);
    // the call and its output are in the prompt: longer than the question alone
    const question = await client.responses.create({ model: "gpt-4o-mini", input: "What is the weather in Paris?", tools, tool_choice: "none", max_output_tokens: 1 });
    expect(second.usage!.input_tokens).toBeGreaterThan(question.usage!.input_tokens + 10);
    const orphan = await client.responses
      .create({ model: "gpt-4o-mini", input: [{ type: "function_call_output", call_id: "call_nobody", output: "1" }], max_output_tokens: 5 })
      .then(() => null, (e) => e);
    expect(orphan?.status).toBe(400);
    expect(orphan?.param).toBe("input[0]");
  }, 60_000);

  test("tool mistakes are 400s that name the field", async () => {
    const error = (body: Partial<OpenAI.Chat.Completions.ChatCompletionCreateParamsNonStreaming>) =>
      client.chat.completions
        .create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }], max_tokens: 5, ...body })
        .then(() => null, (e) => e as InstanceType<typeof OpenAI.BadRequestError>);
    const unknown = await error({ tools: chatTools, tool_choice: { type: "function", function: { name: "launch_rocket" } } });
    expect(unknown?.status).toBe(400);
    expect(unknown?.param).toBe("tool_choice");
    const unanswered = await error({
      messages: [
        { role: "user", content: "Weather?" },
        { role: "assistant", content: null, tool_calls: [{ id: "call_9", type: "function", function: { name: "get_weather", arguments: "{}" } }] },
        { role: "user", content: "Well?" },
      ],
      tools: chatTools,
    });
    expect(unanswered?.status).toBe(400);
    expect(unanswered?.message).toContain("call_9");
    const badSchema = await error({ tools: [{ type: "function", function: { name: "f", parameters: { type: "object", properties: { a: { type: "string", pattern: "^a+$" } } } } }] });
    expect(badSchema?.status).toBe(400);
    expect(badSchema?.param).toBe("tools.0.function.parameters");
    const both = await error({ tools: chatTools, response_format: { type: "json_object" } });
    expect(both?.status).toBe(400);
    expect(both?.param).toBe("response_format");
  }, 30_000);
});

describe("Vercel AI SDK", () => {
  const tools = {
    set_timer: tool({ description: TIMER.description, inputSchema: timerArgs }),
    get_weather: tool({ description: WEATHER.description, inputSchema: weatherArgs, execute: async ({ city }) => ({ city, sky: "sunny" }) }),
  };
  const provider = () => createOpenAI({ baseURL: `${hearth.url}/v1`, apiKey: "unused" });

  test("openai.chat(): generateText with a forced tool gives a typed tool call", async () => {
    const result = await generateText({
      model: provider().chat("gpt-4o-mini"),
      prompt: "Start a timer for the eggs.",
      tools,
      toolChoice: { type: "tool", toolName: "set_timer" },
      maxOutputTokens: 80,
      maxRetries: 0,
    });
    expect(result.finishReason).toBe("tool-calls");
    expect(result.toolCalls).toHaveLength(1);
    expect(result.toolCalls[0]!.toolName).toBe("set_timer");
    timerArgs.parse(result.toolCalls[0]!.input);
    expect(result.toolCalls[0]!.invalid).toBeFalsy();
  }, 60_000);

  test("openai('model') (Responses API): streamText streams the call's input, then runs the tool and answers in a second step", async () => {
    const result = streamText({
      model: provider()("gpt-4o-mini"),
      prompt: "What is the weather in Paris?",
      tools,
      toolChoice: { type: "tool", toolName: "get_weather" },
      // the second request carries the call and the tool's result back; it must answer in text
      prepareStep: ({ stepNumber }) => (stepNumber > 0 ? { toolChoice: "none" } : {}),
      stopWhen: stepCountIs(2),
      maxOutputTokens: 60,
      maxRetries: 0,
    });
    const types = new Set<string>();
    let inputDeltas = "";
    for await (const part of result.fullStream) {
      types.add(part.type);
      if (part.type === "tool-input-delta") inputDeltas += part.delta;
      if (part.type === "error") throw part.error;
    }
    const steps = await result.steps;
    expect(steps).toHaveLength(2);
    const [call] = steps[0]!.toolCalls;
    expect(call?.toolName).toBe("get_weather");
    expect(JSON.parse(inputDeltas)).toEqual(weatherArgs.parse(call!.input));
    expect(steps[0]!.finishReason).toBe("tool-calls");
    expect(steps[0]!.toolResults[0]?.output).toEqual({ city: (call!.input as { city: string }).city, sky: "sunny" });
    expect(steps[1]!.text.length).toBeGreaterThan(0);
    expect(steps[1]!.toolCalls).toHaveLength(0);
    expect([...types]).toEqual(expect.arrayContaining(["tool-input-start", "tool-input-delta", "tool-call", "tool-result", "text-delta"]));
  }, 60_000);
});

describe("LangChain ChatOpenAI", () => {
  const setTimer = langchainTool(async () => "ok", { name: TIMER.name, description: TIMER.description, schema: timerArgs });
  const getWeather = langchainTool(async () => "sunny", { name: WEATHER.name, description: WEATHER.description, schema: weatherArgs });
  const chat = (fields: ConstructorParameters<typeof ChatOpenAI>[0] = {}) =>
    new ChatOpenAI({ model: "gpt-4o-mini", apiKey: "unused", configuration: { baseURL: `${hearth.url}/v1` }, maxRetries: 0, maxTokens: 80, ...fields });

  test("bindTools with a named tool: invoke gives parsed tool_calls", async () => {
    const reply = await chat().bindTools([setTimer, getWeather], { tool_choice: "set_timer" }).invoke([new HumanMessage("Bath timer, please.")]);
    expect(reply.tool_calls).toHaveLength(1);
    expect(reply.tool_calls![0]!.name).toBe("set_timer");
    timerArgs.parse(reply.tool_calls![0]!.args);
    expect(reply.response_metadata.finish_reason).toBe("tool_calls");
  }, 60_000);

  test('bindTools with "any", streamed: the chunks add up to a valid call; the ToolMessage goes back', async () => {
    const model = chat().bindTools([setTimer, getWeather], { tool_choice: "any" });
    let whole: AIMessageChunk | undefined;
    for await (const chunk of await model.stream([new HumanMessage("Weather in Oslo?")])) whole = whole ? whole.concat(chunk) : chunk;
    const call = whole!.tool_calls![0]!;
    expect(["set_timer", "get_weather"]).toContain(call.name);
    SCHEMAS[call.name]!.parse(call.args);
    // the call and its result as history; tool_choice "none" lets the grammar pin the answer
    const answer = await chat({ modelKwargs: { grammar: `root ::= "${PINNED}"` } })
      .bindTools([setTimer, getWeather], { tool_choice: "none" })
      .invoke([new HumanMessage("Weather in Oslo?"), new AIMessage({ content: "", tool_calls: [call] }), new ToolMessage({ content: "sunny", tool_call_id: call.id! })]);
    expect(answer.content).toBe(PINNED);
  }, 60_000);
});
