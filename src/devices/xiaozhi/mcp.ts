// The device's tools over MCP (docs/mcp-protocol.md, main/mcp_server.cc): JSON-RPC 2.0 inside
// {"type":"mcp","payload":...}. Hearth is the client: `initialize`, then `tools/list` page by page
// (the device cuts its list at ~8 KB and names a nextCursor), then `tools/call` when asked. The
// firmware drops a request whose id is not a number, whose params are not an object, or whose
// jsonrpc is not "2.0", so every request here has all three.

export interface McpTool {
  name: string;
  description?: string;
  inputSchema?: unknown;
}

/** What a tools/call returned: MCP content (text parts) and whether the tool itself failed. */
export interface McpCallResult {
  content: { type: string; text?: string }[];
  isError: boolean;
}

/** The device answered a request with a JSON-RPC error, or did not answer in time. */
export class McpError extends Error {
  override name = "McpError";
}

const PROTOCOL_VERSION = "2024-11-05";
/** Pages of tools/list followed at most (a loop guard against a device repeating its cursor). */
const MAX_PAGES = 20;

interface Pending {
  resolve(result: any): void;
  reject(error: Error): void;
  timer: ReturnType<typeof setTimeout>;
}

export class McpClient {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private closed = false;
  /** The device's tools, once listed. */
  tools: McpTool[] = [];
  /** What the device says it is (initialize's serverInfo). */
  serverInfo?: { name?: string; version?: string };

  constructor(
    private readonly send: (payload: Record<string, unknown>) => void,
    private readonly opts: { timeoutMs: number; clientVersion: string },
  ) {}

  /** initialize, then every page of tools/list. Resolves with the tools. */
  async start(): Promise<McpTool[]> {
    const init = await this.request("initialize", {
      protocolVersion: PROTOCOL_VERSION,
      capabilities: {},
      clientInfo: { name: "hearth", version: this.opts.clientVersion },
    });
    if (init && typeof init.serverInfo === "object") this.serverInfo = init.serverInfo;
    const tools: McpTool[] = [];
    let cursor = "";
    for (let page = 0; page < MAX_PAGES; page++) {
      const result = await this.request("tools/list", { cursor });
      for (const t of Array.isArray(result?.tools) ? result.tools : []) {
        if (typeof t?.name === "string") tools.push({ name: t.name, description: typeof t.description === "string" ? t.description : undefined, inputSchema: t.inputSchema });
      }
      if (typeof result?.nextCursor !== "string" || !result.nextCursor || result.nextCursor === cursor) break;
      cursor = result.nextCursor;
    }
    this.tools = tools;
    return tools;
  }

  /** Calls one of the device's tools. Aborting `signal` stops waiting (a late answer is then ignored). */
  async call(name: string, args: Record<string, unknown> = {}, signal?: AbortSignal): Promise<McpCallResult> {
    const result = await this.request("tools/call", { name, arguments: args }, signal);
    const content = Array.isArray(result?.content) ? result.content.filter((c: any) => typeof c?.type === "string") : [];
    return { content, isError: result?.isError === true };
  }

  /** A payload from the device: the answer to one of our requests (anything else is ignored). */
  onMessage(payload: Record<string, unknown>): boolean {
    if (payload.jsonrpc !== "2.0" || typeof payload.id !== "number") return false;
    const p = this.pending.get(payload.id);
    if (!p) return false;
    this.pending.delete(payload.id);
    clearTimeout(p.timer);
    if ("error" in payload) {
      const e = payload.error as any;
      p.reject(new McpError(typeof e?.message === "string" ? e.message : "the device answered with an error"));
    } else {
      p.resolve(payload.result);
    }
    return true;
  }

  /** The session ended: pending requests fail. */
  close() {
    this.closed = true;
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(new McpError("the device disconnected"));
      this.pending.delete(id);
    }
  }

  private request(method: string, params: Record<string, unknown>, signal?: AbortSignal): Promise<any> {
    if (this.closed) return Promise.reject(new McpError("the device disconnected"));
    if (signal?.aborted) return Promise.reject(new McpError(`${method} was cancelled`));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const onAbort = () => settle(() => reject(new McpError(`${method} was cancelled`)));
      const settle = (then: () => void) => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        this.pending.delete(id);
        then();
      };
      const timer = setTimeout(() => settle(() => reject(new McpError(`the device did not answer ${method} within ${this.opts.timeoutMs} ms`))), this.opts.timeoutMs);
      signal?.addEventListener("abort", onAbort, { once: true });
      this.pending.set(id, { resolve: (r) => settle(() => resolve(r)), reject: (e) => settle(() => reject(e)), timer });
      this.send({ jsonrpc: "2.0", id, method, params });
    });
  }
}
