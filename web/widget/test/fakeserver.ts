// A scripted /ws server for the protocol client's unit tests: a real WebSocket server on a
// random loopback port whose test code reads each frame the client sends and answers it
// with whatever events the case needs (including ones the real server cannot send yet).

import { WebSocket, WebSocketServer } from 'ws';
import type { SocketLike } from '../src/protocol/client';

/** A queue whose consumers wait for the next item. */
class Queue<T> {
  private items: T[] = [];
  private waiters: ((v: T) => void)[] = [];
  push(v: T): void {
    const w = this.waiters.shift();
    if (w) w(v);
    else this.items.push(v);
  }
  next(what: string, timeoutMs = 5000): Promise<T> {
    const v = this.items.shift();
    if (v !== undefined) return Promise.resolve(v);
    return new Promise((resolve, reject) => {
      // A hang guard, not a timing assertion.
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), timeoutMs);
      this.waiters.push((x) => {
        clearTimeout(timer);
        resolve(x);
      });
    });
  }
  get size(): number {
    return this.items.length;
  }
}

export interface Frame {
  action: string;
  requestId?: string;
  [k: string]: any;
}

export class Conn {
  readonly frames = new Queue<Frame>();
  readonly closed: Promise<void>;
  constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => this.frames.push(JSON.parse(String(data))));
    this.closed = new Promise((resolve) => ws.on('close', () => resolve()));
  }
  /** The next frame, skipping pings (the client sends them on its own schedule). */
  async next(): Promise<Frame> {
    for (;;) {
      const f = await this.frames.next('a frame');
      if (f.action !== 'ping') return f;
    }
  }
  send(ev: Record<string, unknown>): void {
    this.ws.send(JSON.stringify({ timestamp: Date.now(), ...ev }));
  }
  /** Answers a frame's requestId with an immediate_response. */
  ok(f: Frame, data: Record<string, unknown>, status = 200, message = ''): void {
    this.send({ type: 'immediate_response', requestId: f.requestId, status, message, data });
  }
  error(requestId: string | undefined, code: string, message: string, extra: Record<string, unknown> = {}): void {
    const error = { code, message, ...extra };
    this.send({ type: 'error', requestId, error, data: { requestId, error } });
  }
  /** Drops the TCP connection without a close handshake, as a crashed instance would. */
  drop(): void {
    this.ws.terminate();
  }
}

export class FakeServer {
  readonly conns = new Queue<Conn>();
  private constructor(private readonly wss: WebSocketServer, readonly url: string) {
    wss.on('connection', (ws) => this.conns.push(new Conn(ws)));
  }
  static async start(): Promise<FakeServer> {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise<void>((resolve) => wss.on('listening', () => resolve()));
    const addr = wss.address();
    if (!addr || typeof addr === 'string') throw new Error('unexpected address');
    return new FakeServer(wss, `ws://127.0.0.1:${addr.port}/ws`);
  }
  next(): Promise<Conn> {
    return this.conns.next('a connection');
  }
  async close(): Promise<void> {
    for (const c of this.wss.clients) c.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }
}

export const createSocket = (url: string): SocketLike => new WebSocket(url) as unknown as SocketLike;

/** A session ack's data. */
export function session(n: number, conversationId: string, token = `srt_token_${n}`): Record<string, unknown> {
  return {
    sessionId: `S${n}`,
    conversationId,
    agentId: 'A1',
    agentName: 'Support',
    userParticipantId: `U${n}`,
    agentParticipantId: `P${n}`,
    resumeToken: token,
  };
}

/** Collects what a client emits, and lets a test wait for a kind of event. */
export function recorder<E extends { kind: string }>() {
  const all: E[] = [];
  const q = new Queue<E>();
  return {
    all,
    push(e: E) {
      all.push(e);
      q.push(e);
    },
    async waitFor<K extends E['kind']>(kind: K, pred: (e: Extract<E, { kind: K }>) => boolean = () => true): Promise<Extract<E, { kind: K }>> {
      for (;;) {
        const e = await q.next(`a ${kind} event`);
        if (e.kind === kind && pred(e as Extract<E, { kind: K }>)) return e as Extract<E, { kind: K }>;
      }
    },
  };
}
