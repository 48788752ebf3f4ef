// Entry point of widget.js. Loaded by
//   <script src="https://HOST/widget.js" data-agent-id="…" async></script>
// it defines <switchboard-chat> and, when its own tag names an agent, adds one chat to the
// page, configured from the tag's data-* attributes.

import { TAG, defineElement, serverOf } from './element';

const script = document.currentScript as HTMLScriptElement | null;
const server = script?.src ? serverOf(script.src) : undefined;
defineElement(server);

const agentId = script?.dataset.agentId;
if (script && agentId) {
  const mount = () => {
    const el = document.createElement(TAG);
    const d = script.dataset;
    const attrs: Record<string, string | undefined> = {
      'agent-id': agentId,
      server,
      token: d.token,
      'auth-context': d.authContext,
      'auth-context-url': d.authContextUrl,
      'chat-title': d.title,
      greeting: d.greeting,
      position: d.position,
      theme: d.theme,
      locale: d.locale,
    };
    for (const [k, v] of Object.entries(attrs)) if (v) el.setAttribute(k, v);
    document.body.appendChild(el);
  };
  if (document.body) mount();
  else document.addEventListener('DOMContentLoaded', mount, { once: true });
}
