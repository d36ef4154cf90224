// The JSON messages of a session (docs/websocket.md §4), as the firmware writes them
// (protocol.cc builds them by string concatenation), and Hearth's answers.
import { expect, test } from "bun:test";
import { Outgoing, parseDeviceMessage } from "../../../src/devices/xiaozhi/messages.ts";

test("the device's hello, listen, abort and mcp messages", () => {
  expect(parseDeviceMessage('{"type":"hello","version":3,"features":{"mcp":true,"aec":true},"transport":"websocket","audio_params":{"format":"opus","sample_rate":16000,"channels":1,"frame_duration":60}}')).toEqual({
    kind: "hello",
    version: 3,
    mcp: true,
    aec: true,
    transport: "websocket",
    audio: { format: "opus", sampleRate: 16000, channels: 1, frameDuration: 60 },
  });
  expect(parseDeviceMessage('{"type":"hello"}')).toMatchObject({ kind: "hello", mcp: false, aec: false, audio: { format: "opus", sampleRate: 16000, frameDuration: 60 } });
  expect(parseDeviceMessage('{"session_id":"s","type":"listen","state":"start","mode":"manual"}')).toEqual({ kind: "listen", state: "start", mode: "manual", text: undefined });
  expect(parseDeviceMessage('{"session_id":"s","type":"listen","state":"stop"}')).toEqual({ kind: "listen", state: "stop", mode: undefined, text: undefined });
  expect(parseDeviceMessage('{"session_id":"s","type":"listen","state":"detect","text":"Hi ESP"}')).toEqual({ kind: "listen", state: "detect", mode: undefined, text: "Hi ESP" });
  expect(parseDeviceMessage('{"session_id":"s","type":"abort","reason":"wake_word_detected"}')).toEqual({ kind: "abort", reason: "wake_word_detected" });
  expect(parseDeviceMessage('{"session_id":"s","type":"abort"}')).toEqual({ kind: "abort", reason: undefined });
  expect(parseDeviceMessage('{"session_id":"s","type":"mcp","payload":{"jsonrpc":"2.0","id":1,"result":{}}}')).toEqual({ kind: "mcp", payload: { jsonrpc: "2.0", id: 1, result: {} } });
  expect(parseDeviceMessage('{"type":"iot","descriptors":[]}')).toEqual({ kind: "other", type: "iot" });
});

test("garbage is reported, never thrown", () => {
  for (const [text, reason] of [
    ["not json", "not JSON"],
    ["[1]", "not a JSON object"],
    ['{"state":"start"}', 'no string "type"'],
    ['{"type":5}', 'no string "type"'],
    ['{"type":"listen","state":"sing"}', 'listen state "sing"'],
    ['{"type":"mcp","payload":"x"}', "mcp without a payload object"],
  ]) expect(parseDeviceMessage(text!)).toEqual({ kind: "invalid", reason: reason! });
});

test("Hearth's messages carry the session and what the firmware reads", () => {
  const out = new Outgoing("sess-1");
  expect(JSON.parse(out.hello())).toEqual({ type: "hello", transport: "websocket", session_id: "sess-1", audio_params: { format: "opus", sample_rate: 24000, channels: 1, frame_duration: 60 } });
  expect(JSON.parse(out.stt("hi"))).toEqual({ type: "stt", text: "hi", session_id: "sess-1" });
  expect(JSON.parse(out.llm("happy"))).toMatchObject({ type: "llm", emotion: "happy" });
  expect(JSON.parse(out.ttsStart())).toEqual({ type: "tts", state: "start", session_id: "sess-1" });
  expect(JSON.parse(out.sentenceStart("Hello."))).toEqual({ type: "tts", state: "sentence_start", text: "Hello.", session_id: "sess-1" });
  expect(JSON.parse(out.ttsStop())).toEqual({ type: "tts", state: "stop", session_id: "sess-1" });
  expect(JSON.parse(out.mcp({ jsonrpc: "2.0", id: 1, method: "initialize", params: {} }))).toEqual({ type: "mcp", payload: { jsonrpc: "2.0", id: 1, method: "initialize", params: {} }, session_id: "sess-1" });
});
