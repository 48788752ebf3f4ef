// The chat UI inside the shadow root: the launcher, the panel with its log and composer,
// the conversation list, and the glue between them and the protocol client. It connects
// only when the visitor first opens the panel, so a page view that never chats creates no
// session.

import { ChatClient, DISCONNECTED, ProtocolError, type AuthContextSource, type ClientEvent } from '../protocol/client';
import { browserStore } from '../protocol/storage';
import type { ConversationSummary, StoredMessage, WireError } from '../protocol/types';
import { errorText, translator, type Translate } from '../i18n';
import { loadMarkdown, parseMarkdown } from '../markdown';
import { ICONS, h, icon, renderMarkdown, replace } from './dom';
import { adoptStyles } from './styles';
import { socketURL } from '../urls';
import { TurnView, turnRenderers } from './turn';
import './interact';

export interface WidgetOptions {
  agentId: string;
  /** The server's base URL (scheme, host and any path prefix), without a trailing slash. */
  server: string;
  token?: string;
  authContext?: AuthContextSource;
  title?: string;
  greeting?: string;
  position: 'right' | 'left';
  theme: 'light' | 'dark' | 'auto';
  locale: string;
}

const HISTORY_PAGE = 30;

export class Widget {
  readonly client: ChatClient;
  private readonly t: Translate;
  private readonly root: HTMLElement;
  private readonly launcher: HTMLButtonElement;
  private readonly panel: HTMLElement;
  private readonly heading: HTMLElement;
  private readonly status: HTMLElement;
  private readonly log: HTMLElement;
  private readonly messages: HTMLElement;
  private readonly older: HTMLButtonElement;
  private readonly convs: HTMLElement;
  private readonly convsButton: HTMLButtonElement;
  private readonly newButton: HTMLButtonElement;
  private readonly composer: HTMLFormElement;
  private readonly input: HTMLTextAreaElement;
  private readonly sendButton: HTMLButtonElement;
  private readonly stopButton: HTMLButtonElement;
  private turn: TurnView | undefined;
  private conversationId: string | undefined;
  private cursor: string | null = null;
  private loadingOlder = false;
  private fatal: WireError | undefined;
  private statusTimer: ReturnType<typeof setInterval> | undefined;
  private readonly openKey: string;
  private enterSends = false;
  private readonly onOnline = () => this.client.reconnectNow();

  constructor(private readonly shadow: ShadowRoot, private readonly opts: WidgetOptions) {
    this.t = translator(opts.locale);
    const t = this.t;
    this.client = new ChatClient({
      url: socketURL(opts.server, opts.token),
      agentId: opts.agentId,
      authContext: opts.authContext,
      store: browserStore(),
    });
    this.client.on((e) => this.onClient(e));
    this.openKey = `switchboard:open:${opts.agentId}`;
    const title = opts.title || t('title');
    this.heading = h('h2', {}, title);

    this.launcher = h('button', {
      class: 'launcher', type: 'button', 'aria-label': t('openChat'), 'aria-expanded': 'false', 'aria-controls': 'sb-panel',
      onclick: () => (this.isOpen() ? this.close() : this.open()),
    }, icon(ICONS.chat));
    this.convsButton = h('button', { class: 'icon', type: 'button', 'aria-label': t('conversations'), title: t('conversations'), 'aria-expanded': 'false', onclick: () => this.toggleConversations() }, icon(ICONS.list));
    this.newButton = h('button', { class: 'icon', type: 'button', 'aria-label': t('newConversation'), title: t('newConversation'), onclick: () => void this.switchTo(null) }, icon(ICONS.plus));
    const closeButton = h('button', { class: 'icon', type: 'button', 'aria-label': t('closeChat'), title: t('closeChat'), onclick: () => this.close() }, icon(ICONS.close));
    this.status = h('div', { class: 'status', role: 'status' });
    this.older = h('button', { class: 'older', type: 'button', hidden: true, onclick: () => void this.loadOlder() }, t('olderMessages'));
    this.messages = h('div', { class: 'messages' });
    this.log = h('div', { class: 'log', role: 'log', 'aria-live': 'polite', 'aria-label': t('transcript'), tabindex: '0', onscroll: () => this.onScroll() }, this.older, this.messages);
    this.convs = h('div', { class: 'convs', hidden: true });
    this.input = h('textarea', { 'aria-label': t('message'), placeholder: t('placeholder'), rows: '1', maxlength: '10000', onkeydown: (e: KeyboardEvent) => this.onKey(e), onkeyup: () => (this.enterSends = false),
      onbeforeinput: (e: InputEvent) => this.onBeforeInput(e), oninput: () => this.autosize() });
    this.sendButton = h('button', { class: 'send', type: 'submit', 'aria-label': t('send'), title: t('send') }, icon(ICONS.send));
    this.stopButton = h('button', { class: 'stop', type: 'button', 'aria-label': t('stop'), title: t('stop'), hidden: true, onclick: () => this.client.cancel() }, icon(ICONS.stop));
    this.composer = h('form', { class: 'composer', onsubmit: (e: Event) => { e.preventDefault(); void this.submit(); } }, this.input, this.sendButton, this.stopButton);
    this.panel = h('section', { class: 'panel', id: 'sb-panel', role: 'dialog', 'aria-label': title, hidden: true },
      h('header', {}, this.heading, this.convsButton, this.newButton, closeButton),
      this.status, this.convs, this.log, this.composer);
    this.root = h('div', { class: 'root', 'data-theme': opts.theme, 'data-position': opts.position,
      onkeydown: (e: KeyboardEvent) => { if (e.key === 'Escape' && this.isOpen()) { e.stopPropagation(); this.close(); } } },
      this.launcher, this.panel);
    adoptStyles(shadow);
    shadow.appendChild(this.root);
    window.addEventListener('online', this.onOnline);
    if (sessionStorageGet(this.openKey) === '1') this.open(false);
    performance.mark?.('switchboard:launcher-ready');
  }

  isOpen(): boolean {
    return !this.panel.hidden;
  }

  open(focus = true): void {
    this.panel.hidden = false;
    this.root.classList.add('open');
    this.launcher.setAttribute('aria-expanded', 'true');
    sessionStorageSet(this.openKey, '1');
    void loadMarkdown();
    if (focus) this.input.focus();
    if (!this.fatal) this.client.start();
  }

  close(): void {
    this.panel.hidden = true;
    this.root.classList.remove('open');
    this.launcher.setAttribute('aria-expanded', 'false');
    sessionStorageSet(this.openKey, '0');
    this.launcher.focus();
  }

  /** Stops the connection for good (the element left the page). */
  destroy(): void {
    window.removeEventListener('online', this.onOnline);
    this.client.stop();
    clearInterval(this.statusTimer);
  }

  private onKey(e: KeyboardEvent): void {
    this.enterSends = e.key === 'Enter' && !e.shiftKey && !e.isComposing;
    if (this.enterSends) {
      e.preventDefault();
      void this.submit();
    }
  }

  /** The line break of an Enter that sent the message is dropped, however it arrives. */
  private onBeforeInput(e: InputEvent): void {
    if (this.enterSends && (e.inputType === 'insertLineBreak' || e.inputType === 'insertParagraph')) e.preventDefault();
  }

  private autosize(): void {
    this.input.style.height = 'auto';
    this.input.style.height = Math.min(this.input.scrollHeight + 2, 140) + 'px';
  }

  private onClient(e: ClientEvent): void {
    switch (e.kind) {
      case 'status':
        this.showStatus(e.status, e.retryInMs);
        break;
      case 'session':
        // Without data-title, the panel is named after the agent.
        if (!this.opts.title && e.session.agentName) {
          this.heading.textContent = e.session.agentName;
          this.panel.setAttribute('aria-label', e.session.agentName);
        }
        if (e.session.conversationId !== this.conversationId) void this.loadConversation(e.session.conversationId, e.fresh);
        break;
      case 'turn': {
        const turn = this.turn;
        if (!turn) break;
        turnRenderers[e.event.type]?.(turn, e.event);
        if (turn.ended) this.endTurn();
        break;
      }
      case 'turn-lost':
        if (this.turn) {
          this.turn.end();
          this.turn.note(this.t('interrupted'), 'error');
          this.endTurn();
        }
        break;
      case 'fatal':
        this.fatal = e.error;
        this.showStatus('stopped');
        this.input.disabled = this.sendButton.disabled = true;
        break;
      case 'published':
        break;
    }
  }

  private showStatus(status: string, retryInMs?: number): void {
    clearInterval(this.statusTimer);
    this.status.className = 'status';
    const t = this.t;
    if (this.fatal) {
      this.status.classList.add('fatal');
      replace(this.status, errorText(t, this.fatal.code));
      return;
    }
    switch (status) {
      case 'connecting':
        replace(this.status, t('connecting'));
        break;
      case 'reconnecting': {
        if (retryInMs === undefined) {
          replace(this.status, t('reconnectingNow'));
          break;
        }
        const until = Date.now() + retryInMs;
        const tick = () => {
          const n = Math.max(0, Math.ceil((until - Date.now()) / 1000));
          replace(this.status, h('span', {}, t('reconnecting', { n })),
            h('button', { class: 'link', type: 'button', onclick: () => this.client.reconnectNow() }, t('retryNow')));
        };
        tick();
        this.statusTimer = setInterval(tick, 1000);
        break;
      }
      default:
        replace(this.status);
    }
  }

  /** Shows a conversation from its newest page of history. */
  private async loadConversation(id: string, fresh: boolean): Promise<void> {
    this.conversationId = id;
    this.cursor = null;
    this.older.hidden = true;
    this.hideConversations();
    // A message sent while the session was being set up stays, after the history.
    for (const child of [...this.messages.children]) if (!(this.turn && child.classList.contains('live'))) child.remove();
    const frag = document.createDocumentFragment();
    if (fresh) frag.appendChild(h('p', { class: 'note' }, this.t('freshConversation')));
    try {
      const [page] = await Promise.all([this.client.history(undefined, HISTORY_PAGE), loadMarkdown()]);
      if (this.conversationId !== id) return;
      this.cursor = page.hasMore ? page.nextCursor : null;
      this.older.hidden = !this.cursor;
      for (const m of [...page.messages].reverse()) frag.appendChild(this.storedMessage(m));
    } catch {
      // Offline again: the greeting stands in, and the next session reloads.
    }
    this.messages.prepend(frag);
    if (this.messages.querySelector('.msg') === null) this.messages.appendChild(this.greeting());
    this.log.scrollTop = this.log.scrollHeight;
  }

  private greeting(): HTMLElement {
    const text = this.opts.greeting || this.t('greeting');
    return h('div', { class: 'msg bot greeting' }, h('div', { class: 'bubble' }, text));
  }

  private storedMessage(m: StoredMessage): HTMLElement {
    const text = typeof m.content?.text === 'string' ? m.content.text : '';
    return m.direction === 'inbound' ? this.userMessage(text) : this.botMessage(text);
  }

  private userMessage(text: string): HTMLElement {
    return h('div', { class: 'msg user' }, h('span', { class: 'sr' }, this.t('you') + ':'), h('div', { class: 'bubble' }, text));
  }

  private botMessage(text: string): HTMLElement {
    const bubble = h('div', { class: 'bubble' });
    bubble.appendChild(renderMarkdown(parseMarkdown(text, location.href)));
    return h('div', { class: 'msg bot' }, h('span', { class: 'sr' }, this.t('assistant') + ':'), bubble);
  }

  private onScroll(): void {
    if (this.log.scrollTop < 40) void this.loadOlder();
  }

  /** Prepends the next older page, keeping what the visitor was looking at in place. */
  private async loadOlder(): Promise<void> {
    if (!this.cursor || this.loadingOlder) return;
    const id = this.conversationId;
    this.loadingOlder = true;
    this.older.textContent = this.t('loadingOlder');
    try {
      const page = await this.client.history(this.cursor, HISTORY_PAGE);
      if (id !== this.conversationId) return;
      const before = this.log.scrollHeight;
      const frag = document.createDocumentFragment();
      for (const m of [...page.messages].reverse()) frag.appendChild(this.storedMessage(m));
      this.messages.prepend(frag);
      this.log.scrollTop += this.log.scrollHeight - before;
      this.cursor = page.hasMore ? page.nextCursor : null;
    } catch {
      // Kept for the next scroll.
    } finally {
      this.loadingOlder = false;
      this.older.textContent = this.t('olderMessages');
      this.older.hidden = !this.cursor;
    }
  }

  private grew(): void {
    this.log.scrollTop = this.log.scrollHeight;
  }

  private async submit(): Promise<void> {
    const text = this.input.value.trim();
    if (!text || this.turn || this.fatal) return;
    this.messages.querySelector('.greeting')?.remove();
    const mine = this.userMessage(text);
    mine.classList.add('live');
    this.messages.appendChild(mine);
    const turn = new TurnView({
      t: this.t,
      base: location.href,
      confirm: (approved, approvalId) => this.client.confirm(approved, approvalId),
      submitInteraction: (answer) => this.client.submitInteraction(answer),
      verifyOtp: (code) => this.client.verifyOtp(code),
      grew: () => this.grew(),
    });
    this.turn = turn;
    turn.el.classList.add('live');
    this.messages.appendChild(turn.el);
    this.input.value = '';
    this.autosize();
    this.setBusy(true);
    this.grew();
    try {
      await this.client.whenOpen();
      await this.client.send(text);
      const id = this.client.session?.conversationId;
      if (id && !this.client.conversations.get(id)?.title) this.client.conversations.describe(id, { title: text.slice(0, 60) });
      if (id) this.client.conversations.describe(id, { updatedAt: new Date().toISOString() });
    } catch (err) {
      // Refused before the 202: nothing was stored, so the text goes back to the composer.
      const e = err instanceof ProtocolError ? err.error : { code: 'default', message: '' };
      mine.remove();
      turn.el.remove();
      this.turn = undefined;
      this.setBusy(false);
      if (!this.input.value) this.input.value = text;
      if (!this.fatal) this.showError(e); // a refused session already says why, in the status line
    }
  }

  /** An error that belongs to no reply, shown in the log; a retry time counts down. */
  private showError(e: WireError): void {
    const line = h('p', { class: 'error' });
    const code = e.code === DISCONNECTED ? DISCONNECTED : e.code;
    line.textContent = errorText(this.t, code, e.retryAfterMs);
    this.messages.appendChild(line);
    this.grew();
    if (e.retryAfterMs) {
      const until = Date.now() + e.retryAfterMs;
      const timer = setInterval(() => {
        const left = until - Date.now();
        if (left <= 0) {
          clearInterval(timer);
          line.remove();
          return;
        }
        line.textContent = errorText(this.t, code, left);
      }, 1000);
    }
  }

  private endTurn(): void {
    this.turn = undefined;
    for (const e of this.messages.querySelectorAll('.live')) e.classList.remove('live');
    this.setBusy(false);
  }

  private setBusy(busy: boolean): void {
    const hadFocus = this.shadow.activeElement === this.stopButton;
    this.sendButton.hidden = busy;
    this.stopButton.hidden = !busy;
    this.newButton.disabled = this.convsButton.disabled = busy;
    if (!busy && (hadFocus || this.isOpen())) this.input.focus();
  }

  private hideConversations(): void {
    this.convs.hidden = true;
    this.log.hidden = this.composer.hidden = false;
    this.convsButton.setAttribute('aria-expanded', 'false');
  }

  private toggleConversations(): void {
    if (!this.convs.hidden) {
      this.hideConversations();
      this.input.focus();
      return;
    }
    this.convs.hidden = false;
    this.log.hidden = this.composer.hidden = true;
    this.convsButton.setAttribute('aria-expanded', 'true');
    void this.renderConversations();
  }

  /** The server's list (readable conversations) merged with the ones this browser started. */
  private async renderConversations(): Promise<void> {
    const t = this.t;
    let server: ConversationSummary[] = [];
    try {
      server = await this.client.listConversations();
    } catch {
      // Offline: the local list still helps.
    }
    const seen = new Set(server.map((c) => c.conversationId));
    const rows: { id: string; title: string; updatedAt?: string }[] = server.map((c) => ({ id: c.conversationId, title: c.title, updatedAt: c.updatedAt }));
    for (const c of this.client.conversations.list()) if (!seen.has(c.id) && c.title) rows.push({ id: c.id, title: c.title, updatedAt: c.updatedAt });
    const list = h('ul', {});
    for (const r of rows) list.appendChild(this.conversationRow(r));
    replace(this.convs,
      h('button', { class: 'link', type: 'button', onclick: () => { this.hideConversations(); this.input.focus(); } }, t('back')),
      rows.length ? list : h('p', { class: 'note' }, t('noConversations')));
    (this.convs.querySelector('.open') as HTMLElement | null)?.focus();
  }

  private conversationRow(r: { id: string; title: string; updatedAt?: string }): HTMLElement {
    const t = this.t;
    const li = h('li', {});
    const current = r.id === this.conversationId;
    const when = r.updatedAt ? new Date(r.updatedAt).toLocaleString(this.opts.locale) : '';
    const show = () => {
      replace(li,
        h('button', { class: 'open', type: 'button', 'aria-label': r.title || t('untitled'), 'aria-current': current ? 'true' : undefined, onclick: () => void this.switchTo(r.id) },
          h('span', {}, r.title || t('untitled')), h('small', {}, current ? t('current') : when)),
        h('button', { class: 'btn', type: 'button', 'aria-label': `${t('rename')}: ${r.title || t('untitled')}`, onclick: edit }, t('rename')));
    };
    const edit = () => {
      const input = h('input', { 'aria-label': t('renameLabel'), value: r.title, maxlength: '200' });
      const form = h('form', {
        onsubmit: async (e: Event) => {
          e.preventDefault();
          try {
            r.title = await this.client.rename(r.id, input.value);
          } catch (err) {
            input.setCustomValidity(errorText(t, err instanceof ProtocolError ? err.code : 'default'));
            input.reportValidity();
            return;
          }
          show();
        },
      }, input, h('button', { class: 'btn primary', type: 'submit' }, t('save')),
        h('button', { class: 'btn', type: 'button', onclick: show }, t('cancel')));
      replace(li, form);
      input.focus();
      input.select(); // typing replaces the old title
    };
    show();
    return li;
  }

  private async switchTo(id: string | null): Promise<void> {
    if (this.turn) return;
    if (id && id === this.conversationId) {
      this.hideConversations();
      this.input.focus();
      return;
    }
    try {
      await this.client.switchConversation(id);
      this.input.focus();
    } catch (err) {
      this.hideConversations();
      this.showError(err instanceof ProtocolError ? err.error : { code: 'default', message: '' });
    }
  }
}

function sessionStorageGet(key: string): string | null {
  try {
    return window.sessionStorage.getItem(key);
  } catch {
    return null;
  }
}

function sessionStorageSet(key: string, value: string): void {
  try {
    window.sessionStorage.setItem(key, value);
  } catch {
    // Not remembering the open panel across reloads is harmless.
  }
}
