// The widget's protocol client: one WebSocket to /ws (PROTOCOL.md), a session on one agent,
// requests matched to their answers by requestId, a running turn's events routed to the UI
// in arrival order, a ping every 30 s (§1.6), and reconnection with exponential backoff that
// resumes the conversation with its stored resume token (§3.5, §4.2.5).
//
// It knows nothing about the DOM: the UI subscribes to ClientEvents.

import { Conversations, type KeyValueStore } from './storage';
import {
  TERMINAL_EVENTS,
  errorOf,
  type AuthContext,
  type ConversationSummary,
  type Frame,
  type HistoryPage,
  type SessionInfo,
  type WireError,
  type WireEvent,
} from './types';

/** A thrown protocol error: the server's `{code, message, retryAfterMs?}`, or DISCONNECTED. */
export class ProtocolError extends Error {
  constructor(readonly error: WireError) {
    super(`${error.code}: ${error.message}`);
  }
  get code(): string {
    return this.error.code;
  }
}

/** The code the client uses for a request that lost its socket before an answer. */
export const DISCONNECTED = 'DISCONNECTED';

/** Codes that make creating a session pointless to retry: the widget stops and says why. */
const FATAL_CREATE_CODES = new Set([
  'ORIGIN_NOT_ALLOWED',
  'AGENT_NOT_FOUND',
  'AGENT_NOT_AUTHORIZED',
  'AUTH_CONTEXT_INVALID',
  'VALIDATION_ERROR',
  'UNSUPPORTED_ACTION',
]);

/**
 * Render capabilities declared at create (`supports`, PROTOCOL-1.1 §4.2.8): the widget
 * renders the identity form, the choice chips and the one-time-code entry (ui/interact.ts).
 */
export const CAPABILITIES: string[] = ['identity_form', 'choice_chips', 'otp_form'];

/** Errors that can answer submit_interaction or verify_otp (1.1 §4.12, §4.13), not the turn. */
const SIDE_ERRORS = new Set(['VALIDATION_ERROR', 'NO_PENDING_INTERACTION', 'INTERACTION_MISMATCH', 'SESSION_NOT_FOUND', 'RATE_LIMITED', 'STORAGE_ERROR']);

/**
 * What answers a frame that carries the running turn's R (1.1 §4.12, §4.13: clients SHOULD
 * send R): the given event types, or an error that only the frame itself can cause. The
 * turn's own events, its terminal `error` included, keep going to the turn.
 */
const sideAnswer = (types: string[]) => (ev: WireEvent) =>
  types.includes(ev.type) || (ev.type === 'error' && SIDE_ERRORS.has(errorOf(ev).code));

export type Status = 'idle' | 'connecting' | 'open' | 'reconnecting' | 'stopped';

export type ClientEvent =
  | { kind: 'status'; status: Status; retryInMs?: number }
  /** A session is ready. `fresh` is true when a resume was asked for and refused (§4.2.5). */
  | { kind: 'session'; session: SessionInfo; fresh: boolean }
  /** Every event of the running turn after its 202, its terminal event last (§7.2). */
  | { kind: 'turn'; requestId: string; event: WireEvent }
  /** The socket closed mid-turn: the server cancelled the turn without an event (§1.7). */
  | { kind: 'turn-lost'; requestId: string }
  /** No session can be had (origin refused, unknown agent, …): the client has stopped. */
  | { kind: 'fatal'; error: WireError }
  /** An event a tenant published (§5.11), or any event the client does not route. */
  | { kind: 'published'; event: WireEvent };

export interface Backoff {
  baseMs: number;
  maxMs: number;
}

/** The minimal WebSocket surface the client uses (the browser's; `ws` in unit tests). */
export interface SocketLike {
  readonly readyState: number;
  onopen: ((ev: any) => void) | null;
  onmessage: ((ev: { data: any }) => void) | null;
  onclose: ((ev: any) => void) | null;
  onerror: ((ev: any) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

/**
 * The signed visitor identity (PROTOCOL §4.2.4): fixed, or fetched afresh for every session
 * (each create and each reconnect is verified again, within 60 s of its signature).
 */
export type AuthContextSource = AuthContext | (() => Promise<AuthContext | undefined>);

export interface ClientOptions {
  /** ws:// or wss:// URL of /ws, with `?token=` when the visitor has one. */
  url: string;
  agentId: string;
  authContext?: AuthContextSource;
  /** Where conversations and resume tokens are remembered (localStorage in the browser). */
  store: KeyValueStore;
  createSocket?: (url: string) => SocketLike;
  backoff?: Backoff;
  pingIntervalMs?: number;
  random?: () => number;
}

interface Pending {
  /** The frame is a send_message: an error answering it means the turn never started. */
  startsTurn: boolean;
  resolve: (ev: WireEvent) => void;
  reject: (err: ProtocolError) => void;
  answers: (ev: WireEvent) => boolean;
}

const OPEN = 1;

/** Every event type the protocol defines (PROTOCOL §2.3, §5.10; PROTOCOL-1.1 §5.12–5.17). */
const PROTOCOL_EVENTS = new Set([
  'immediate_response', 'pong', 'error', 'cancelled', 'stream_token', 'stream_reasoning', 'stream_chunk',
  'eventual_response', 'write_confirmation_required', 'keepalive', 'stream_preamble', 'interaction_required',
  'interaction_invalid', 'otp_verification_required', 'otp_sent', 'otp_verified', 'otp_invalid',
]);

const isAnswer = (ev: WireEvent) => ev.type === 'immediate_response' || ev.type === 'error';

export class ChatClient {
  status: Status = 'idle';
  session: SessionInfo | undefined;
  /** R of the running turn, from the send_message frame until its terminal event. */
  activeTurn: string | undefined;
  /** The visitor's remembered conversations: per identity, so known once authContext is. */
  conversations: Conversations;

  private socket: SocketLike | undefined;
  private readonly listeners = new Set<(e: ClientEvent) => void>();
  private readonly pending = new Map<string, Pending>();
  private seq = 0;
  private readonly prefix: string;
  private attempt = 0;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private pingTimer: ReturnType<typeof setInterval> | undefined;
  private readonly backoff: Backoff;
  private readonly random: () => number;
  private readonly createSocket: (url: string) => SocketLike;

  constructor(private readonly opts: ClientOptions) {
    this.backoff = opts.backoff ?? { baseMs: 500, maxMs: 30_000 };
    this.random = opts.random ?? Math.random;
    this.prefix = 'w' + Math.floor(this.random() * 36 ** 6).toString(36);
    this.createSocket = opts.createSocket ?? ((url) => new WebSocket(url) as unknown as SocketLike);
    this.conversations = this.conversationsOf(typeof opts.authContext === 'object' ? opts.authContext : undefined);
  }

  private conversationsOf(ac: AuthContext | undefined): Conversations {
    return new Conversations(this.opts.store, this.opts.agentId, ac ? 'ctx:' + ac.userId : 'anon');
  }

  /** The authContext for a new session, switching to that identity's conversations. */
  private async authContext(): Promise<AuthContext | undefined> {
    const src = this.opts.authContext;
    const ac = typeof src === 'function' ? await src() : src;
    const next = this.conversationsOf(ac);
    if (next.identity !== this.conversations.identity) this.conversations = next;
    return ac;
  }

  on(fn: (e: ClientEvent) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private emit(e: ClientEvent): void {
    for (const fn of this.listeners) fn(e);
  }

  private setStatus(status: Status, retryInMs?: number): void {
    this.status = status;
    this.emit(retryInMs === undefined ? { kind: 'status', status } : { kind: 'status', status, retryInMs });
  }

  /**
   * Resolves once a session is open; rejects when the client stops (a fatal refusal, or
   * stop()) first. A message typed while connecting waits here instead of failing.
   */
  whenOpen(): Promise<void> {
    if (this.status === 'open') return Promise.resolve();
    if (this.status === 'stopped') return Promise.reject(new ProtocolError({ code: DISCONNECTED, message: 'stopped' }));
    return new Promise((resolve, reject) => {
      const off = this.on((e) => {
        if (e.kind !== 'status') return;
        if (e.status === 'open') {
          off();
          resolve();
        } else if (e.status === 'stopped') {
          off();
          reject(new ProtocolError({ code: DISCONNECTED, message: 'stopped' }));
        }
      });
    });
  }

  nextRequestId(): string {
    this.seq += 1;
    return `${this.prefix}-${this.seq}`;
  }

  /** Opens the socket and a session, unless already doing so. */
  start(): void {
    if (this.status === 'connecting' || this.status === 'open') return;
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    this.connect();
  }

  /** Closes the socket for good: no reconnection. */
  stop(): void {
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    this.setStatus('stopped');
    const s = this.socket;
    this.socket = undefined;
    this.teardown();
    if (s) s.close(1000);
  }

  /** Skips the wait of a scheduled reconnection (the browser came back online). */
  reconnectNow(): void {
    if (this.status === 'reconnecting') this.start();
  }

  private connect(): void {
    this.setStatus(this.attempt === 0 ? 'connecting' : 'reconnecting');
    let socket: SocketLike;
    try {
      socket = this.createSocket(this.opts.url);
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.socket = socket;
    socket.onopen = () => {
      if (this.socket === socket) void this.openSession();
    };
    socket.onmessage = (m) => {
      if (this.socket === socket) this.receive(m.data);
    };
    socket.onerror = () => {
      // A close event always follows; that is where reconnection is decided.
    };
    socket.onclose = () => {
      if (this.socket !== socket) return;
      this.socket = undefined;
      this.teardown();
      if (this.status !== 'stopped') this.scheduleReconnect();
    };
  }

  /** Forgets everything tied to the socket that just went away. */
  private teardown(): void {
    clearInterval(this.pingTimer);
    this.pingTimer = undefined;
    const lost = new ProtocolError({ code: DISCONNECTED, message: 'the connection was lost' });
    for (const p of this.pending.values()) p.reject(lost);
    this.pending.clear();
    const turn = this.activeTurn;
    this.activeTurn = undefined;
    if (turn) this.emit({ kind: 'turn-lost', requestId: turn });
  }

  private scheduleReconnect(minMs = 0): void {
    const ceiling = Math.min(this.backoff.maxMs, this.backoff.baseMs * 2 ** this.attempt);
    // Half fixed, half random: clients dropped together do not return together.
    const delay = Math.max(minMs, Math.round(ceiling / 2 + (this.random() * ceiling) / 2));
    this.attempt += 1;
    this.setStatus('reconnecting', delay);
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      this.connect();
    }, delay);
  }

  /** Creates the session: resumes the stored conversation, or `target` when switching. */
  private async openSession(): Promise<void> {
    let known: { id: string; token?: string } | undefined;
    try {
      const ac = await this.authContext();
      known = this.session
        ? this.conversations.get(this.session.conversationId) ?? { id: this.session.conversationId }
        : this.conversations.current();
      const session = await this.createSession(ac, known?.id, known?.token);
      this.attempt = 0;
      this.pingTimer = setInterval(() => this.ping(), this.opts.pingIntervalMs ?? 30_000);
      // Open first: a listener of the session event may send requests at once.
      this.setStatus('open');
      this.emit({ kind: 'session', session, fresh: !!known?.id && session.conversationId !== known?.id });
    } catch (err) {
      const e = err instanceof ProtocolError ? err.error : { code: 'INTERNAL_ERROR', message: String(err) };
      if (e.code === DISCONNECTED) return; // the close handler reconnects
      if (FATAL_CREATE_CODES.has(e.code)) {
        this.stop();
        this.emit({ kind: 'fatal', error: e });
        return;
      }
      // Draining instance, storage trouble, rate limit: try again later, on a new socket
      // (a load balancer may pick a healthy instance).
      const s = this.socket;
      this.socket = undefined;
      this.teardown();
      s?.close(1000);
      this.scheduleReconnect(e.retryAfterMs ?? 0);
    }
  }

  private async createSession(ac: AuthContext | undefined, conversationId?: string, resumeToken?: string): Promise<SessionInfo> {
    const frame: Frame = { action: 'create_conversation_session', agentId: this.opts.agentId, supports: CAPABILITIES };
    if (ac) frame.authContext = ac;
    if (conversationId) {
      frame.conversationId = conversationId;
      if (resumeToken) frame.resumeToken = resumeToken;
    }
    const data = await this.request<SessionInfo>(frame);
    this.session = data;
    this.conversations.remember(data.conversationId, data.resumeToken);
    return data;
  }

  /**
   * Moves to another conversation (`null` starts a new one) with a new session on the same
   * socket. The conversation's stored resume token is presented when there is one.
   */
  async switchConversation(conversationId: string | null): Promise<SessionInfo> {
    this.requireSession();
    const ac = await this.authContext();
    if (!conversationId) this.conversations.clearCurrent();
    const token = conversationId ? this.conversations.get(conversationId)?.token : undefined;
    const session = await this.createSession(ac, conversationId ?? undefined, token);
    this.emit({ kind: 'session', session, fresh: !!conversationId && session.conversationId !== conversationId });
    return session;
  }

  /**
   * Sends a frame and resolves with the `data` of its answer, or rejects with the error.
   * `answers` says which events answer the frame (default: its immediate_response or error).
   */
  request<T = any>(frame: Frame, answers: (ev: WireEvent) => boolean = isAnswer): Promise<T> {
    const requestId = frame.requestId ?? this.nextRequestId();
    return new Promise<T>((resolve, reject) => {
      const s = this.socket;
      if (!s || s.readyState !== OPEN) {
        reject(new ProtocolError({ code: DISCONNECTED, message: 'not connected' }));
        return;
      }
      this.pending.set(requestId, {
        startsTurn: frame.action === 'send_message',
        resolve: (ev) => resolve((ev.data ?? {}) as T),
        reject,
        answers,
      });
      s.send(JSON.stringify({ ...frame, requestId }));
    });
  }

  private ping(): void {
    const s = this.socket;
    if (s && s.readyState === OPEN) s.send(JSON.stringify({ action: 'ping' }));
  }

  private receive(raw: unknown): void {
    let ev: WireEvent;
    try {
      ev = JSON.parse(String(raw));
    } catch {
      return;
    }
    if (!ev || typeof ev !== 'object' || typeof ev.type !== 'string') return;
    const rid = typeof ev.requestId === 'string' ? ev.requestId : undefined;
    const p = rid ? this.pending.get(rid) : undefined;
    if (rid && p && p.answers(ev)) {
      this.pending.delete(rid);
      if (ev.type === 'error') {
        if (p.startsTurn && rid === this.activeTurn) this.activeTurn = undefined; // refused before its 202 (§7.2 O1)
        p.reject(new ProtocolError(errorOf(ev)));
      } else {
        p.resolve(ev);
      }
      return;
    }
    if (rid && rid === this.activeTurn) {
      if (TERMINAL_EVENTS.has(ev.type)) this.activeTurn = undefined;
      this.emit({ kind: 'turn', requestId: rid, event: ev });
      return;
    }
    // A protocol event that answers nothing pending and belongs to no running turn is stale
    // (a turn already ended, a request already failed); anything else a tenant published.
    if (PROTOCOL_EVENTS.has(ev.type)) return;
    this.emit({ kind: 'published', event: ev });
  }

  private requireSession(): SessionInfo {
    if (!this.session || this.status !== 'open') throw new ProtocolError({ code: DISCONNECTED, message: 'not connected' });
    return this.session;
  }

  /**
   * Starts a turn. Resolves with its requestId once the server acknowledged it (202); the
   * turn's events then arrive as `turn` events. Rejects with the pre-acknowledgement error
   * (LLM_UNAVAILABLE, QUOTA_EXCEEDED, RATE_LIMITED, …).
   */
  async send(message: string): Promise<string> {
    const s = this.requireSession();
    const requestId = this.nextRequestId();
    this.activeTurn = requestId;
    try {
      await this.request({ action: 'send_message', requestId, sessionId: s.sessionId, message });
    } catch (err) {
      if (this.activeTurn === requestId) this.activeTurn = undefined;
      throw err;
    }
    return requestId;
  }

  /** Asks the server to stop the running turn; its `cancelled` arrives as a turn event. */
  cancel(): void {
    const s = this.socket;
    if (!this.activeTurn || !s || s.readyState !== OPEN) return;
    s.send(JSON.stringify({ action: 'cancel', requestId: this.activeTurn }));
  }

  /** Decides a parked tool call (§4.9). */
  confirm(approved: boolean, approvalId?: string): Promise<unknown> {
    const s = this.requireSession();
    const frame: Frame = { action: 'confirm_tool_action', sessionId: s.sessionId, approved };
    if (approvalId) frame.approvalId = approvalId;
    return this.request(frame);
  }

  /**
   * Answers the parked interaction of the running turn (1.1 §4.12) under the turn's R.
   * Resolves with the answering event: the `immediate_response` ack, or
   * `interaction_invalid` (the turn stays parked); rejects with the error.
   */
  submitInteraction(answer: { interactionId: string; kind: string; values?: unknown; declined?: boolean }): Promise<WireEvent> {
    const s = this.requireSession();
    const frame: Frame = { action: 'submit_interaction', sessionId: s.sessionId, ...answer };
    if (this.activeTurn) frame.requestId = this.activeTurn;
    return this.requestEvent(frame, sideAnswer(['immediate_response', 'interaction_invalid']));
  }

  /**
   * Submits a one-time code for the running turn (1.1 §4.13) under the turn's R. Resolves
   * with `otp_verified` or `otp_invalid`; rejects with the error.
   */
  verifyOtp(code: string): Promise<WireEvent> {
    const s = this.requireSession();
    const frame: Frame = { action: 'verify_otp', sessionId: s.sessionId, code };
    if (this.activeTurn) frame.requestId = this.activeTurn;
    return this.requestEvent(frame, sideAnswer(['otp_verified', 'otp_invalid']));
  }

  /** As request, but resolves with the whole answering event. */
  private requestEvent(frame: Frame, answers: (ev: WireEvent) => boolean): Promise<WireEvent> {
    const requestId = frame.requestId ?? this.nextRequestId();
    return new Promise<WireEvent>((resolve, reject) => {
      const s = this.socket;
      if (!s || s.readyState !== OPEN || this.pending.has(requestId)) {
        reject(new ProtocolError({ code: s && s.readyState === OPEN ? 'TURN_IN_PROGRESS' : DISCONNECTED, message: 'not sent' }));
        return;
      }
      this.pending.set(requestId, { startsTurn: false, resolve, reject, answers });
      s.send(JSON.stringify({ ...frame, requestId }));
    });
  }

  /** One page of the conversation's history, newest first (§4.4). */
  history(cursor?: string, limit = 30): Promise<HistoryPage> {
    const s = this.requireSession();
    const frame: Frame = { action: 'get_conversation_messages', sessionId: s.sessionId, limit };
    if (cursor) frame.cursor = cursor;
    return this.request<HistoryPage>(frame);
  }

  /** The conversations this visitor may read with this agent (§4.5). */
  async listConversations(limit = 50): Promise<ConversationSummary[]> {
    this.requireSession();
    const data = await this.request<{ conversations?: ConversationSummary[] }>({
      action: 'list_conversations',
      agentId: this.opts.agentId,
      limit,
    });
    return Array.isArray(data.conversations) ? data.conversations : [];
  }

  /** Renames a conversation; resolves with the title as stored (§4.6). */
  async rename(conversationId: string, title: string): Promise<string> {
    this.requireSession();
    const data = await this.request<{ title?: string }>({ action: 'rename_conversation', conversationId, title });
    const stored = typeof data.title === 'string' ? data.title : title;
    this.conversations.describe(conversationId, { title: stored });
    return stored;
  }
}
