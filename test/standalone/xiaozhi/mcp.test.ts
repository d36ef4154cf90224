// Hearth as the MCP client of a device: requests the firmware accepts (mcp_server.cc drops a
// request whose jsonrpc, id or params are malformed), tools/list followed page by page, tools/call
// results and errors per JSON-RPC, timeouts, and a device that goes away.
import { expect, test } from "bun:test";
import { McpClient, McpError } from "../../../src/devices/xiaozhi/mcp.ts";

/** Answers like the firmware, from a list of tools, two per page. */
function fakeDevice(opts: { silent?: boolean } = {}) {
  const sent: any[] = [];
  const tools = ["self.get_device_status", "self.audio_speaker.set_volume", "self.screen.set_brightness"].map((name) => ({ name, description: name, inputSchema: { type: "object", properties: {} } }));
  let client!: McpClient;
  const send = (p: any) => {
    sent.push(p);
    // What McpServer::ParseMessage checks before it answers.
    expect(p.jsonrpc).toBe("2.0");
    expect(typeof p.id).toBe("number");
    expect(typeof p.method).toBe("string");
    expect(typeof p.params === "object" && p.params !== null && !Array.isArray(p.params)).toBe(true);
    if (opts.silent) return;
    queueMicrotask(() => {
      const reply = (r: any) => client.onMessage({ jsonrpc: "2.0", id: p.id, ...r });
      if (p.method === "initialize") return reply({ result: { protocolVersion: "2024-11-05", capabilities: { tools: {} }, serverInfo: { name: "esp-box-3", version: "1.9.0" } } });
      if (p.method === "tools/list") {
        const start = p.params.cursor ? tools.findIndex((t) => t.name === p.params.cursor) : 0;
        const next = tools[start + 2]?.name;
        return reply({ result: { tools: tools.slice(start, start + 2), ...(next ? { nextCursor: next } : {}) } });
      }
      if (p.method === "tools/call" && p.params.name === "self.audio_speaker.set_volume") return reply({ result: { content: [{ type: "text", text: "true" }], isError: false } });
      reply({ error: { message: `Unknown tool: ${p.params.name}` } });
    });
  };
  client = new McpClient(send, { timeoutMs: 200, clientVersion: "test" });
  return { client, sent };
}

test("initialize, then every page of tools/list", async () => {
  const { client, sent } = fakeDevice();
  const tools = await client.start();
  expect(tools.map((t) => t.name)).toEqual(["self.get_device_status", "self.audio_speaker.set_volume", "self.screen.set_brightness"]);
  expect(sent.map((p) => [p.method, p.params.cursor])).toEqual([
    ["initialize", undefined],
    ["tools/list", ""],
    ["tools/list", "self.screen.set_brightness"],
  ]);
  expect(sent[0].params).toMatchObject({ protocolVersion: "2024-11-05", clientInfo: { name: "hearth" } });
  expect(new Set(sent.map((p) => p.id)).size).toBe(3);
  expect(client.serverInfo).toEqual({ name: "esp-box-3", version: "1.9.0" });
});

test("tools/call: a result, and a JSON-RPC error as McpError", async () => {
  const { client, sent } = fakeDevice();
  expect(await client.call("self.audio_speaker.set_volume", { volume: 30 })).toEqual({ content: [{ type: "text", text: "true" }], isError: false });
  expect(sent.at(-1).params).toEqual({ name: "self.audio_speaker.set_volume", arguments: { volume: 30 } });
  await expect(client.call("self.fly")).rejects.toThrow(new McpError("Unknown tool: self.fly"));
});

test("answers to nothing asked are ignored; silence times out; a disconnect fails what is pending", async () => {
  const { client } = fakeDevice({ silent: true });
  expect(client.onMessage({ jsonrpc: "2.0", id: 99, result: {} })).toBe(false);
  expect(client.onMessage({ jsonrpc: "1.0", id: 1, result: {} })).toBe(false);
  await expect(client.start()).rejects.toThrow(/did not answer initialize within 200 ms/);
  const pending = client.call("self.get_device_status");
  client.close();
  await expect(pending).rejects.toThrow(/disconnected/);
  await expect(client.call("x")).rejects.toThrow(/disconnected/);
});

test("a call whose signal is aborted (the turn was interrupted) stops waiting at once; the late answer is ignored", async () => {
  const { client, sent } = fakeDevice({ silent: true });
  const stop = new AbortController();
  const started = Date.now();
  const pending = client.call("self.audio_speaker.set_volume", { volume: 10 }, stop.signal);
  stop.abort();
  await expect(pending).rejects.toThrow(new McpError("tools/call was cancelled"));
  expect(Date.now() - started).toBeLessThan(100);
  expect(client.onMessage({ jsonrpc: "2.0", id: sent.at(-1).id, result: { content: [], isError: false } })).toBe(false);
  await expect(client.call("self.get_device_status", {}, stop.signal)).rejects.toThrow(/cancelled/);
});
