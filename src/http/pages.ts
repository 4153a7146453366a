import type { ServerResponse } from 'node:http';

/** A short text answer that nobody needs to style (health, readiness, 4xx/5xx for machines). */
export function plain(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, {
    'Content-Type': 'text/plain; charset=utf-8',
    'Cache-Control': 'no-store',
    'Content-Length': String(Buffer.byteLength(body)),
    ...headers,
  });
  res.end(body);
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** A small self-contained page: no scripts, no external assets, nothing to cache. */
export function sendPage(res: ServerResponse, status: number, title: string, bodyHtml: string, headers: Record<string, string | string[]> = {}): void {
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;color:#1c1e21}h1{font-size:1.4rem}
.box{border:1px solid #d0d7de;border-radius:8px;padding:1.5rem}button,a.button{font:inherit;padding:.4rem 1rem;border-radius:6px;border:1px solid #8c959f;background:#f6f8fa;color:inherit;text-decoration:none;cursor:pointer}
code{background:#f6f8fa;padding:0 .3em;border-radius:4px}</style></head>
<body><div class="box"><h1>${escapeHtml(title)}</h1>${bodyHtml}</div></body></html>
`;
  res.writeHead(status, {
    'Content-Type': 'text/html; charset=utf-8',
    'Cache-Control': 'no-store',
    'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
    'X-Frame-Options': 'DENY',
    'Content-Length': String(Buffer.byteLength(html)),
    ...headers,
  });
  res.end(html);
}

export function logoutForm(label = 'Log out'): string {
  return `<form method="post" action="/logout"><button type="submit">${escapeHtml(label)}</button></form>`;
}
