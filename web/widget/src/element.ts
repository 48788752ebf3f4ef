// <switchboard-chat>: the widget as a custom element with an open shadow root, for pages and
// frameworks that place it themselves. The script tag loader (main.ts) creates one too.

import type { AuthContext } from './protocol/types';
import { pickLocale } from './i18n';
import { Widget, type WidgetOptions } from './ui/widget';

export { serverOf } from './urls';

export const TAG = 'switchboard-chat';

const ATTRS = ['agent-id', 'server', 'token', 'auth-context', 'chat-title', 'greeting', 'position', 'theme', 'locale'] as const;

/** Reads `{userId, signature, timestamp}` from JSON; anything else is refused with a warning. */
export function parseAuthContext(raw: string | null): AuthContext | undefined {
  if (!raw) return undefined;
  try {
    const v = JSON.parse(raw);
    if (typeof v?.userId === 'string' && typeof v?.signature === 'string' && Number.isInteger(v?.timestamp)) {
      return { userId: v.userId, signature: v.signature, timestamp: v.timestamp };
    }
  } catch {
    // fall through
  }
  console.warn('switchboard-chat: auth-context must be JSON {"userId","signature","timestamp"}; ignored');
  return undefined;
}

export function defineElement(defaultServer: string | undefined): void {
  if (customElements.get(TAG)) return;

  class SwitchboardChat extends HTMLElement {
    static observedAttributes = [...ATTRS];
    private widget: Widget | undefined;

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
      const opts: WidgetOptions = {
        agentId,
        server,
        token: this.getAttribute('token') || undefined,
        authContext: parseAuthContext(this.getAttribute('auth-context')),
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
