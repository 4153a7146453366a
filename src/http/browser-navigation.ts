import type { RequestHeaders } from './request-headers.js';

/**
 * Whether the request is a browser navigating to a page (which may be sent to a login page) rather
 * than a script calling an API (which must get a 401 it can handle). Browsers mark navigations
 * with `Sec-Fetch-Mode: navigate`; without that header, an HTML Accept on GET/HEAD counts.
 */
export function isBrowserNavigation(method: string, headers: RequestHeaders): boolean {
  if (method !== 'GET' && method !== 'HEAD') return false;
  const mode = headers.single('sec-fetch-mode');
  if (typeof mode === 'string') return mode === 'navigate';
  if (typeof headers.single('x-requested-with') === 'string') return false;
  const accept = headers.single('accept');
  return typeof accept === 'string' && accept.includes('text/html');
}
