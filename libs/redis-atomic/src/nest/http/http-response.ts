/** The part of a response both platforms share: Express' `res` and Fastify's `reply` each have these three. */
export interface HttpResponse {
  header(name: string, value: string): unknown;
  status(code: number): HttpResponse;
  send(body?: unknown): unknown;
}
