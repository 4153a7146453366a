import { connect } from 'node:net';

/** Sends raw bytes (for malformed requests no HTTP client would produce) and returns the status line. */
export function rawRequest(port: number, bytes: Buffer | string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let data = '';
    socket.on('data', (d) => (data += d.toString('latin1')));
    socket.on('end', () => resolve(data.split('\r\n', 1)[0] ?? ''));
    socket.on('close', () => resolve(data.split('\r\n', 1)[0] ?? ''));
    socket.on('error', reject);
    socket.setTimeout(5000, () => socket.destroy(new Error('timeout')));
    socket.end(bytes);
  });
}
