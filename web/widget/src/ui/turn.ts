// One assistant reply while its turn runs: streamed text, tool activity, the approval card,
// citations, and how the turn ended. Each event type has one renderer in `turnRenderers`;
// an event type without one is ignored (PROTOCOL §2.2). Rich interactions (forms, choice
// chips, code entry: PROTOCOL-1.1 §5.12–5.17) are added by registering renderers for their
// events here and declaring their capability in protocol/client.ts CAPABILITIES.

import { parseMarkdown } from '../markdown';
import { errorText, type Translate } from '../i18n';
import {
  errorOf,
  inner,
  type ApprovalRequest,
  type Citation,
  type ToolActivity,
  type WireEvent,
} from '../protocol/types';
import { ProtocolError } from '../protocol/client';
import { h, renderMarkdown, replace } from './dom';

/** What a turn view needs from the widget around it. */
export interface TurnContext {
  t: Translate;
  /** The host page's URL, against which relative links in replies resolve. */
  base: string;
  confirm(approved: boolean, approvalId?: string): Promise<unknown>;
  /** Answers the turn's parked interaction (1.1 §4.12); resolves with the answering event. */
  submitInteraction(answer: { interactionId: string; kind: string; values?: unknown; declined?: boolean }): Promise<WireEvent>;
  /** Sends a one-time code (1.1 §4.13); resolves with `otp_verified` or `otp_invalid`. */
  verifyOtp(code: string): Promise<WireEvent>;
  /** Keeps the newest content in view after the log grew. */
  grew(): void;
}

export type TurnRenderer = (turn: TurnView, ev: WireEvent) => void;

interface ToolLine {
  name: string;
  el: HTMLDetailsElement;
  label: HTMLElement;
  body: HTMLElement;
}

export interface Card {
  tool: string;
  el: HTMLElement;
  actions: HTMLElement;
  decided: boolean;
}

interface Segment {
  el: HTMLElement;
  text: string;
}

/**
 * A reply in the order it happened (§7.2 O3): text the model wrote before a tool call sits
 * above that call, and text after it below, each run of text in its own bubble.
 */
export class TurnView {
  readonly el: HTMLElement;
  private readonly typing: HTMLElement;
  private readonly segments: Segment[] = [];
  private open: Segment | undefined;
  private frame = 0;
  private readonly tools: ToolLine[] = [];
  private readonly cards: Card[] = [];
  ended = false;

  constructor(readonly ctx: TurnContext) {
    const { t } = ctx;
    this.typing = h('div', { class: 'bubble typing' }, h('span', { class: 'sr' }, t('thinking')));
    // Busy while it streams, so that screen readers announce the finished reply once.
    this.el = h('div', { class: 'msg bot', 'aria-busy': 'true' }, h('span', { class: 'sr' }, t('assistant') + ':'), this.typing);
  }

  /** Adds an element after everything shown so far (before the typing indicator). */
  private add(node: HTMLElement): void {
    this.el.insertBefore(node, this.typing.parentNode === this.el ? this.typing : null);
    this.ctx.grew();
  }

  appendToken(token: string): void {
    if (!this.open) {
      this.open = { el: h('div', { class: 'bubble' }), text: '' };
      this.segments.push(this.open);
      this.add(this.open.el);
      this.typing.hidden = true; // the growing text shows the reply is coming
    }
    this.open.text += token;
    // Tokens can arrive faster than frames: render at most once per frame.
    if (!this.frame) this.frame = requestAnimationFrame(() => this.render());
  }

  /** The final reply text (responseParts[0]): it replaces the streamed bubbles only if they differ. */
  setText(text: string): void {
    this.render();
    if (this.segments.map((x) => x.text).join('') === text) return;
    for (const x of this.segments) x.el.remove();
    this.segments.length = 0;
    this.open = undefined;
    if (text) this.appendToken(text);
    this.render();
  }

  private render(): void {
    cancelAnimationFrame(this.frame);
    this.frame = 0;
    for (const x of this.segments) {
      if (x.el.dataset.rendered === String(x.text.length)) continue;
      x.el.dataset.rendered = String(x.text.length);
      replace(x.el, renderMarkdown(parseMarkdown(x.text.trim(), this.ctx.base)));
    }
    this.ctx.grew();
  }

  /** Ends the current run of text: what follows goes below it. */
  private breakText(): void {
    this.render();
    this.open = undefined;
    this.typing.hidden = false;
  }

  /** A tool call started (toolCall chunk, §5.5). */
  toolStarted(name: string, args: Record<string, unknown> | undefined): void {
    const { t } = this.ctx;
    const label = h('span', {}, t('toolRunning', { tool: name }));
    const body = h('div', {}, h('div', {}, t('toolInput')), h('pre', {}, JSON.stringify(args ?? {}, null, 2)));
    const el = h('details', { class: 'tool' }, h('summary', {}, label), body);
    this.tools.push({ name, el, label, body });
    this.breakText();
    this.add(el);
  }

  /** A tool call ended (toolResult chunk): the oldest running line of that tool takes it. */
  toolEnded(name: string, isError: boolean, result: string): void {
    const { t } = this.ctx;
    const line = this.tools.find((l) => l.name === name && !l.el.dataset.done);
    if (line) {
      line.el.dataset.done = '1';
      line.label.textContent = t(isError ? 'toolFailed' : 'toolDone', { tool: name });
      if (isError) line.el.classList.add('failed');
      line.body.append(h('div', {}, t('toolOutput')), h('pre', {}, result));
    }
    // A result for a parked tool means its decision has been taken (§7.5: close the dialog).
    for (const c of this.cards) if (c.tool === name) this.closeCard(c);
  }

  /** The turn parked on a tool call that needs the visitor's approval (§5.6). */
  showApproval(req: ApprovalRequest): void {
    const { t } = this.ctx;
    const args = Object.entries(req.arguments ?? {});
    const approve = h('button', { class: 'btn primary', type: 'button' }, t('approve'));
    const deny = h('button', { class: 'btn', type: 'button' }, t('deny'));
    const actions = h('div', { class: 'actions' }, approve, deny);
    const title = h('h3', {}, t('approvalTitle'));
    const el = h(
      'div',
      { class: 'card', role: 'group', 'aria-label': t('approvalTitle') },
      title,
      h('p', {}, t('approvalText', { tool: req.toolId })),
      args.length > 0 &&
        h('dl', {}, ...args.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, typeof v === 'string' ? v : JSON.stringify(v))])),
      actions,
    );
    const card: Card = { tool: req.toolId, el, actions, decided: false };
    const decide = (approved: boolean) => {
      if (card.decided) return;
      card.decided = true;
      approve.disabled = deny.disabled = true;
      this.ctx
        .confirm(approved, req.approvalId)
        .then(() => replace(actions, h('p', { class: 'note' }, t(approved ? 'approved' : 'denied'))))
        .catch((err: unknown) => {
          const code = err instanceof ProtocolError ? err.code : 'default';
          replace(actions, h('p', { class: 'error' }, errorText(t, code, err instanceof ProtocolError ? err.error.retryAfterMs : undefined)));
        });
    };
    approve.addEventListener('click', () => decide(true));
    deny.addEventListener('click', () => decide(false));
    this.cards.push(card);
    this.breakText();
    this.add(el);
  }

  /** Shows a card the turn parked on; it closes when its tool's result comes or the turn ends. */
  addCard(card: Card): void {
    this.cards.push(card);
    this.breakText();
    this.add(card.el);
  }

  private closeCard(c: Card): void {
    if (c.decided) return;
    c.decided = true;
    replace(c.actions, h('p', { class: 'note' }, this.ctx.t('approvalGone')));
  }

  showCitations(citations: Citation[]): void {
    const items = citations
      .filter((c) => c && typeof c.title === 'string')
      .map((c) => {
        const url = typeof c.url === 'string' && /^https?:\/\//i.test(c.url) ? c.url : undefined;
        return h(
          'li',
          {},
          url
            ? h('a', { href: url, target: '_blank', rel: 'noopener noreferrer' }, c.title || url, h('span', { class: 'sr' }, ' ' + this.ctx.t('opensInNewTab')))
            : c.title,
        );
      });
    if (items.length === 0) return;
    this.add(h('div', { class: 'sources' }, h('span', {}, this.ctx.t('sources')), h('ol', {}, ...items)));
  }

  /** The error text of a failed request, in plain words. */
  failure(err: unknown): string {
    const code = err instanceof ProtocolError ? err.code : 'default';
    return errorText(this.ctx.t, code, err instanceof ProtocolError ? err.error.retryAfterMs : undefined);
  }

  /** Adds a line under the reply: how it ended, or an error in plain words. */
  note(text: string, kind: 'note' | 'error' = 'note'): void {
    this.add(h('p', { class: kind }, text));
  }

  /** The turn is over: stop showing it as busy, close open cards. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.render();
    this.typing.remove();
    this.el.removeAttribute('aria-busy');
    for (const c of this.cards) this.closeCard(c);
  }
}

/** The renderer of each turn event type. */
export const turnRenderers: Record<string, TurnRenderer> = {
  stream_token(turn, ev) {
    const token = ev.token ?? ev.data?.token;
    if (typeof token === 'string' && token) turn.appendToken(token);
  },
  stream_chunk(turn, ev) {
    const raw: ToolActivity | undefined = ev.data?.state?.rawResponse;
    if (raw?.toolCall) turn.toolStarted(String(raw.toolCall.name ?? ev.node ?? ''), raw.toolCall.arguments);
    if (raw?.toolResult) turn.toolEnded(String(raw.toolResult.name ?? ev.node ?? ''), !!raw.toolResult.isError, String(raw.toolResult.result ?? ''));
  },
  write_confirmation_required(turn, ev) {
    const req = inner<ApprovalRequest>(ev);
    if (req && typeof req.toolId === 'string') turn.showApproval(req);
  },
  eventual_response(turn, ev) {
    const d = inner<{ response?: { responseParts?: unknown[] }; citations?: Citation[] }>(ev);
    const part = d?.response?.responseParts?.[0];
    if (typeof part === 'string') turn.setText(part);
    if (Array.isArray(d?.citations)) turn.showCitations(d.citations);
    turn.end();
  },
  cancelled(turn) {
    turn.end();
    turn.note(turn.ctx.t('stopped'));
  },
  error(turn, ev) {
    const e = errorOf(ev);
    turn.end();
    turn.note(errorText(turn.ctx.t, e.code, e.retryAfterMs), 'error');
  },
};

/** Lets an event type's renderer be added or replaced (the rich interactions, when they land). */
export function registerTurnRenderer(type: string, render: TurnRenderer): void {
  turnRenderers[type] = render;
}
