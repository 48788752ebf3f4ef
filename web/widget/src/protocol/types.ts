// Wire shapes of the /ws protocol (docs/spec/PROTOCOL.md, PROTOCOL-1.1.md) that the widget
// reads or writes. Events are read defensively: the server may add fields and event types,
// and published events (PROTOCOL §5.11) follow no shape at all.

/** An action frame, sent as one JSON text message. */
export interface Frame {
  action: string;
  requestId?: string;
  [field: string]: unknown;
}

/** The error object of an `error` event; `retryAfterMs` only on RATE_LIMITED (1.1 §5.9). */
export interface WireError {
  code: string;
  message: string;
  retryAfterMs?: number;
}

/** Any event the server sends. Only `type` is guaranteed. */
export interface WireEvent {
  type: string;
  requestId?: string;
  status?: number;
  message?: string;
  token?: string;
  node?: string;
  error?: WireError;
  data?: any;
  timestamp?: number;
}

/** The signed end-user identity of PROTOCOL §4.2.4, computed by the embedding site. */
export interface AuthContext {
  userId: string;
  signature: string;
  timestamp: number;
}

/** The `data` of a `create_conversation_session` answer (§4.2.6). */
export interface SessionInfo {
  sessionId: string;
  conversationId: string;
  agentId: string;
  agentName: string;
  userParticipantId: string;
  agentParticipantId: string;
  resumeToken?: string;
}

/** One stored message (§4.4). */
export interface StoredMessage {
  id: string;
  direction: 'inbound' | 'outbound';
  content: { text: string };
  createdAt: string;
}

/** One page of history, newest first (§4.4). */
export interface HistoryPage {
  messages: StoredMessage[];
  nextCursor: string | null;
  hasMore: boolean;
}

/** One entry of `list_conversations` (§4.5). */
export interface ConversationSummary {
  conversationId: string;
  title: string;
  updatedAt: string;
  messageCount: number;
}

/** One citation of an `eventual_response` (§5.7). */
export interface Citation {
  id: string;
  title: string;
  url?: string;
  snippet: string;
  score: number;
}

/** The `data.data` of `write_confirmation_required` (§5.6). */
export interface ApprovalRequest {
  toolId: string;
  actionDescription: string;
  approvalId?: string;
  arguments?: Record<string, unknown>;
}

/** What `stream_chunk` carries in `data.state.rawResponse` (§5.5). */
export interface ToolActivity {
  toolCall?: { name: string; arguments: Record<string, unknown> };
  toolResult?: { name: string; isError: boolean; result: string };
}

/** Events that end a turn (§7.2 O2). */
export const TERMINAL_EVENTS: ReadonlySet<string> = new Set(['eventual_response', 'cancelled', 'error']);

/** The payload of a wrapped event (§2.3 family 3): `data.data`. */
export function inner<T>(ev: WireEvent): T | undefined {
  const d = ev.data;
  return d && typeof d === 'object' && d.data && typeof d.data === 'object' ? (d.data as T) : undefined;
}

/** The error object of an `error` event, at `error` or mirrored at `data.error`. */
export function errorOf(ev: WireEvent): WireError {
  const e = ev.error ?? ev.data?.error;
  const code = typeof e?.code === 'string' ? e.code : 'INTERNAL_ERROR';
  const message = typeof e?.message === 'string' ? e.message : '';
  const out: WireError = { code, message };
  if (typeof e?.retryAfterMs === 'number' && e.retryAfterMs > 0) out.retryAfterMs = e.retryAfterMs;
  return out;
}
