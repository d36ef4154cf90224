// The route table every front end contributes to, in Bun.serve's `routes` format.
export type Handler = (req: Request & { params: Record<string, string> }) => Response | Promise<Response>;
export type Method = "GET" | "POST" | "PUT" | "DELETE" | "OPTIONS";
export type Routes = Record<string, Partial<Record<Method, Handler>>>;
