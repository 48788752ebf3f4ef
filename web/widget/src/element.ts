// <switchboard-chat>: the widget as a custom element with an open shadow root, for pages and
// frameworks that place it themselves. The script tag loader (main.ts) creates one too.

import type { AuthContextSource } from './protocol/client';
import type { AuthContext } from './protocol/types';
import { pickLocale } from './i18n';
import { Widget, type WidgetOptions } from './ui/widget';

export { serverOf } from './urls';

export const TAG = 'switchboard-chat';

const ATTRS = ['agent-id', 'server', 'token', 'auth-context', 'auth-context-url', 'chat-title', 'greeting', 'position', 'theme', 'locale'] as const;

/** `{userId, signature, timestamp}` when v has exactly those types, else undefined. */
function toAuthContext(v: any): AuthContext | undefined {
  if (typeof v?.userId === 'string' && typeof v?.signature === 'string' && Number.isInteger(v?.timestamp)) {
    return { userId: v.userId, signature: v.signature, timestamp: v.timestamp };
  }
  return undefined;
}

/** Reads `{userId, signature, timestamp}` from JSON; anything else is refused with a warning. */
export function parseAuthContext(raw: string | null): AuthContext | undefined {
  if (!raw) return undefined;
  let ac: AuthContext | undefined;
  try {
    ac = toAuthContext(JSON.parse(raw));
  } catch {
    // reported below
  }
  if (!ac) console.warn('switchboard-chat: auth-context must be JSON {"userId","signature","timestamp"}; ignored');
  return ac;
}

/**
 * A provider that asks the site's own endpoint (same origin, the visitor's cookies) for a
 * freshly signed authContext: JSON {userId, signature, timestamp}, or 204 for a visitor who
 * is not signed in.
 */
export function authContextFrom(url: string): () => Promise<AuthContext | undefined> {
  return async () => {
    const res = await fetch(url, { credentials: 'same-origin', cache: 'no-store', headers: { Accept: 'application/json' } });
    if (res.status === 204) return undefined;
    if (!res.ok) throw new Error(`auth-context-url answered ${res.status}`);
    const ac = toAuthContext(await res.json());
    if (!ac) throw new Error('auth-context-url did not answer {userId, signature, timestamp}');
    return ac;
  };
}

export function defineElement(defaultServer: string | undefined): void {
  if (customElements.get(TAG)) return;

  class SwitchboardChat extends HTMLElement {
    static observedAttributes = [...ATTRS];
    private widget: Widget | undefined;
    private provider: (() => Promise<AuthContext | undefined>) | undefined;

    /** For frameworks: a function returning a freshly signed authContext before each session. */
    get authContextProvider(): (() => Promise<AuthContext | undefined>) | undefined {
      return this.provider;
    }

    set authContextProvider(fn: (() => Promise<AuthContext | undefined>) | undefined) {
      this.provider = fn;
      if (this.widget) {
        this.teardown();
        this.build();
      }
    }

    connectedCallback(): void {
      this.build();
    }

    disconnectedCallback(): void {
      this.teardown();
    }

    attributeChangedCallback(_name: string, oldValue: string | null, newValue: string | null): void {
      if (oldValue !== newValue && this.widget) {
        this.teardown();
        this.build();
      }
    }

    private teardown(): void {
      this.widget?.destroy();
      this.widget = undefined;
      this.shadowRoot?.replaceChildren();
    }

    private build(): void {
      if (this.widget || !this.isConnected) return;
      const agentId = this.getAttribute('agent-id')?.trim();
      const server = (this.getAttribute('server') || defaultServer || '').replace(/\/+$/, '');
      if (!agentId || !server) {
        console.warn('switchboard-chat: agent-id (and server, when the script is not loaded from it) is required');
        return;
      }
      const position = this.getAttribute('position') === 'left' || this.getAttribute('position') === 'bottom-left' ? 'left' : 'right';
      const theme = this.getAttribute('theme');
      const url = this.getAttribute('auth-context-url');
      const authContext: AuthContextSource | undefined =
        this.provider ?? (url ? authContextFrom(url) : parseAuthContext(this.getAttribute('auth-context')));
      const opts: WidgetOptions = {
        agentId,
        server,
        token: this.getAttribute('token') || undefined,
        authContext,
        title: this.getAttribute('chat-title') || undefined,
        greeting: this.getAttribute('greeting') || undefined,
        position,
        theme: theme === 'dark' || theme === 'auto' ? theme : 'light',
        locale: pickLocale([this.getAttribute('locale') || '', ...(navigator.languages ?? [navigator.language])].filter(Boolean)),
      };
      const shadow = this.shadowRoot ?? this.attachShadow({ mode: 'open' });
      this.widget = new Widget(shadow, opts);
    }
  }

  customElements.define(TAG, SwitchboardChat);
}
