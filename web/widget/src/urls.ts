// The server's URLs as the widget derives them: its base from the script's own URL, and
// the /ws URL from the base.

/** The server base URL of a widget script URL: what precedes /widget.js or /widget/<hash>.js. */
export function serverOf(scriptSrc: string): string | undefined {
  try {
    const u = new URL(scriptSrc);
    u.search = u.hash = '';
    return u.href.replace(/\/widget(\.js|\/[^/]+\.js)$/, '').replace(/\/+$/, '');
  } catch {
    return undefined;
  }
}

/** The /ws URL for a server base URL and an optional end-user token (PROTOCOL §1.2). */
export function socketURL(server: string, token?: string): string {
  const u = new URL(server.replace(/\/+$/, '') + '/ws');
  u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
  if (token) u.searchParams.set('token', token);
  return u.href;
}
