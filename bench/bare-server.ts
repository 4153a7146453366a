import { type ChildProcess, spawn } from 'node:child_process';
import { freePort, waitForHttp } from '../test/helpers/net.js';

/** The baseline: a bare node:http server in its own process, answering 200 to everything. */
export async function startBareServer(): Promise<{ url: string; stop: () => void; child: ChildProcess }> {
  const port = await freePort();
  const code = `require('node:http').createServer((q, s) => { s.writeHead(200, { 'Content-Length': '0' }); s.end(); }).listen(${port}, '127.0.0.1');`;
  const child = spawn(process.execPath, ['-e', code], { stdio: 'ignore' });
  const url = `http://127.0.0.1:${port}`;
  await waitForHttp(url);
  return { url, child, stop: () => child.kill('SIGKILL') };
}
