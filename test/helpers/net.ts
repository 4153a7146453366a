import { createServer } from 'node:net';
import { request } from 'undici';
import { waitFor } from './wait.js';

/** A port that was free a moment ago (the OS picks it). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Polls until `url` answers anything, or throws after `ms`. */
export async function waitForHttp(url: string, ms = 15_000): Promise<void> {
  await waitFor(
    async () => {
      const res = await request(url);
      await res.body.dump();
      return true;
    },
    `${url} to answer`,
    ms,
    50,
  );
}
