// The route table every front end contributes to, in Bun.serve's `routes` format.
export type Handler = (req: Request & { params: Record<string, string> }) => Response | Promise<Response>;
export type Method = "GET" | "POST" | "PUT" | "DELETE" | "OPTIONS";
export type Routes = Record<string, Partial<Record<Method, Handler>>>;

/** One open WebSocket as a front end sees it (Bun's ServerWebSocket fits). */
export interface Socket {
  send(data: string | Uint8Array): number;
  close(code?: number, reason?: string): void;
  readonly remoteAddress: string;
}

/** What a WebSocket endpoint does with one connection. */
export interface SocketHandlers {
  open?(socket: Socket): void;
  message(socket: Socket, data: string | Uint8Array): void;
  close?(socket: Socket, code: number, reason: string): void;
}

/**
 * A WebSocket endpoint (xiaozhi devices): checks the upgrade request and returns the connection's
 * handlers, or throws a HearthError to refuse it (answered like any HTTP error).
 */
export type SocketRoute = (req: Request & { params: Record<string, string> }) => SocketHandlers;
export type SocketRoutes = Record<string, SocketRoute>;
