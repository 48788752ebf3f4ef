import { test } from 'node:test';
import assert from 'node:assert/strict';

import { ChatClient, DISCONNECTED, ProtocolError, type ClientEvent } from '../src/protocol/client';
import { Conversations, memoryStore, type KeyValueStore } from '../src/protocol/storage';
import { errorText, translator } from '../src/i18n';
import { FakeServer, createSocket, recorder, session, type Conn } from './fakeserver';

interface Setup {
  server: FakeServer;
  client: ChatClient;
  events: ReturnType<typeof recorder<ClientEvent>>;
  store: KeyValueStore;
}

async function setup(t: { after: (fn: () => unknown) => void }, store: KeyValueStore = memoryStore(), authUser?: string): Promise<Setup> {
  const server = await FakeServer.start();
  const events = recorder<ClientEvent>();
  const client = new ChatClient({
    url: server.url,
    agentId: 'A1',
    authContext: authUser ? { userId: authUser, signature: 'ab', timestamp: 1 } : undefined,
    store,
    createSocket,
    backoff: { baseMs: 10, maxMs: 40 },
    pingIntervalMs: 60_000,
    random: () => 0.5,
  });
  client.on((e) => events.push(e));
  t.after(async () => {
    client.stop();
    await server.close();
  });
  return { server, client, events, store };
}

/** Accepts a connection and answers its create_conversation_session. */
async function accept(s: Setup, n: number, conversationId: string): Promise<{ conn: Conn; create: Record<string, any> }> {
  const conn = await s.server.next();
  const create = await conn.next();
  assert.equal(create.action, 'create_conversation_session');
  conn.ok(create, session(n, conversationId), 200, 'Session created');
  await s.events.waitFor('status', (e) => e.status === 'open');
  return { conn, create };
}

test('creates a session, declares its capabilities and keeps the resume token per agent', async (t) => {
  const s = await setup(t);
  s.client.start();
  const { create } = await accept(s, 1, 'C1');
  assert.equal(create.agentId, 'A1');
  assert.deepEqual(create.supports, ['identity_form', 'choice_chips', 'otp_form']);
  assert.equal(create.conversationId, undefined, 'a first visit asks for no conversation');
  assert.equal(typeof create.requestId, 'string');
  const stored = new Conversations(s.store, 'A1', 'anon').current();
  assert.deepEqual(stored, { id: 'C1', token: 'srt_token_1' });
  assert.equal(new Conversations(s.store, 'A2', 'anon').current(), undefined, 'another agent has its own conversations');
});

test('routes a turn in order, with acks, pongs and published events interleaved, and ends it on its terminal event', async (t) => {
  const s = await setup(t);
  s.client.start();
  const { conn } = await accept(s, 1, 'C1');
  const sent = s.client.send('Hello');
  const f = await conn.next();
  assert.deepEqual({ action: f.action, sessionId: f.sessionId, message: f.message }, { action: 'send_message', sessionId: 'S1', message: 'Hello' });
  const R = f.requestId as string;
  conn.ok(f, {}, 202, 'Processing your request...');
  assert.equal(await sent, R);
  assert.equal(s.client.activeTurn, R);

  conn.send({ type: 'stream_token', requestId: R, token: 'Hel', data: { requestId: R, token: 'Hel' } });
  conn.send({ type: 'pong', requestId: 'p-1', data: {} });
  conn.send({ type: 'notice', data: { text: 'published' } });
  conn.send({ type: 'write_confirmation_required', requestId: R, data: { requestId: R, data: { toolId: 'refund', approvalId: 'AP1', actionDescription: '', arguments: {} } } });
  const confirmed = s.client.confirm(true, 'AP1');
  const cf = await conn.next();
  assert.deepEqual({ action: cf.action, approved: cf.approved, approvalId: cf.approvalId, sessionId: cf.sessionId }, { action: 'confirm_tool_action', approved: true, approvalId: 'AP1', sessionId: 'S1' });
  assert.notEqual(cf.requestId, R, 'the confirm has its own requestId');
  conn.ok(cf, { sessionId: 'S1', approved: true, approvalId: 'AP1' }, 200, 'Tool action approved');
  await confirmed;
  conn.send({ type: 'stream_chunk', requestId: R, node: 'refund', data: { requestId: R, node: 'refund', state: { rawResponse: { toolResult: { name: 'refund', isError: false, result: 'ok' } } } } });
  conn.send({ type: 'stream_token', requestId: R, token: 'lo', data: { requestId: R, token: 'lo' } });
  conn.send({ type: 'eventual_response', requestId: R, status: 200, data: { requestId: R, status: 200, data: { response: { responseParts: ['Hello'] } } } });
  conn.send({ type: 'stream_token', requestId: R, token: 'late', data: { requestId: R, token: 'late' } });
  conn.send({ type: 'notice', data: { text: 'after' } });

  await s.events.waitFor('published', (e) => e.event.data?.text === 'after');
  const turn = s.events.all.filter((e) => e.kind === 'turn').map((e) => (e as any).event.type);
  assert.deepEqual(turn, ['stream_token', 'write_confirmation_required', 'stream_chunk', 'stream_token', 'eventual_response']);
  const published = s.events.all.filter((e) => e.kind === 'published').map((e) => (e as any).event.data.text);
  assert.deepEqual(published, ['published', 'after'], 'events after the terminal one are not the turn\'s');
  assert.equal(s.client.activeTurn, undefined);
});

test('a refusal before the 202 rejects send with the error, RATE_LIMITED with its retry time', async (t) => {
  const s = await setup(t);
  s.client.start();
  const { conn } = await accept(s, 1, 'C1');
  const sent = s.client.send('Hi');
  const f = await conn.next();
  conn.error(f.requestId, 'RATE_LIMITED', 'too many messages in this session; retry later', { retryAfterMs: 4381 });
  const err = await sent.then(() => assert.fail('send resolved'), (e: unknown) => e);
  assert.ok(err instanceof ProtocolError);
  assert.deepEqual(err.error, { code: 'RATE_LIMITED', message: 'too many messages in this session; retry later', retryAfterMs: 4381 });
  assert.equal(s.client.activeTurn, undefined, 'no turn runs after a refusal');
  assert.equal(errorText(translator('en'), err.code, err.error.retryAfterMs), 'Too many messages. Please retry in 5 s.');
  assert.equal(errorText(translator('fr'), err.code, err.error.retryAfterMs), 'Trop de messages. Réessayez dans 5 s.');

  // The next message goes through: nothing was left behind.
  const again = s.client.send('Hi again');
  const g = await conn.next();
  conn.ok(g, {}, 202);
  assert.equal(await again, g.requestId);
});

test('a RATE_LIMITED error ending a turn carries its retry time to the turn', async (t) => {
  const s = await setup(t);
  s.client.start();
  const { conn } = await accept(s, 1, 'C1');
  const sent = s.client.send('Hi');
  const f = await conn.next();
  conn.ok(f, {}, 202);
  await sent;
  conn.error(f.requestId, 'RATE_LIMITED', 'too many frames; slow down', { retryAfterMs: 250 });
  const ev = await s.events.waitFor('turn');
  assert.equal(ev.event.type, 'error');
  assert.equal(ev.event.error?.retryAfterMs, 250);
  assert.equal(s.client.activeTurn, undefined);
});

test('reconnects with backoff after the socket drops, resumes with the stored token, and reports the lost turn', async (t) => {
  const s = await setup(t);
  s.client.start();
  const first = await accept(s, 1, 'C1');
  const sent = s.client.send('Hello');
  const f = await first.conn.next();
  first.conn.ok(f, {}, 202);
  await sent;
  const pending = s.client.history();
  await first.conn.next();
  first.conn.drop();

  const err = await pending.then(() => assert.fail('history resolved'), (e: unknown) => e);
  assert.ok(err instanceof ProtocolError && err.code === DISCONNECTED, 'a request in flight fails when its socket goes');
  const lost = await s.events.waitFor('turn-lost');
  assert.equal(lost.requestId, f.requestId);
  const waiting = await s.events.waitFor('status', (e) => e.status === 'reconnecting' && e.retryInMs !== undefined);
  assert.equal(waiting.retryInMs, 8, 'first retry: half the base delay plus the jittered half');

  // The second attempt fails too: the delay doubles.
  const refused = await s.server.next();
  const create2 = await refused.next();
  assert.equal(create2.conversationId, 'C1');
  assert.equal(create2.resumeToken, 'srt_token_1');
  refused.error(create2.requestId, 'SERVER_SHUTTING_DOWN', 'server is shutting down; reconnect and retry');
  const backoff = await s.events.waitFor('status', (e) => e.status === 'reconnecting' && e.retryInMs !== undefined);
  assert.equal(backoff.retryInMs, 15);

  const third = await s.server.next();
  const create3 = await third.next();
  assert.deepEqual([create3.conversationId, create3.resumeToken], ['C1', 'srt_token_1']);
  third.ok(create3, session(3, 'C1', 'srt_token_3'), 200, 'Session created');
  await s.events.waitFor('status', (e) => e.status === 'open');
  const resumed = await s.events.waitFor('session');
  assert.equal(resumed.session.sessionId, 'S3');
  assert.equal(resumed.fresh, false);
  assert.deepEqual(new Conversations(s.store, 'A1', 'anon').current(), { id: 'C1', token: 'srt_token_3' }, 'the newest token replaces the old one');

  // The backoff starts over after a success.
  third.drop();
  const after = await s.events.waitFor('status', (e) => e.status === 'reconnecting' && e.retryInMs !== undefined);
  assert.equal(after.retryInMs, 8);
});

test('a page reload resumes the stored conversation; a refused resume is reported as fresh', async (t) => {
  const store = memoryStore();
  new Conversations(store, 'A1', 'anon').remember('C1', 'srt_old');
  const s = await setup(t, store);
  s.client.start();
  const conn = await s.server.next();
  const create = await conn.next();
  assert.deepEqual([create.conversationId, create.resumeToken], ['C1', 'srt_old']);
  conn.ok(create, session(1, 'C9'), 200, 'Session created');
  const ev = await s.events.waitFor('session');
  assert.equal(ev.fresh, true);
  assert.equal(new Conversations(store, 'A1', 'anon').current()?.id, 'C9');
});

test('a refusal that retrying cannot fix stops the client without reconnecting', async (t) => {
  const s = await setup(t);
  s.client.start();
  const conn = await s.server.next();
  const create = await conn.next();
  conn.error(create.requestId, 'ORIGIN_NOT_ALLOWED', 'this origin is not allowed to embed this agent');
  const fatal = await s.events.waitFor('fatal');
  assert.equal(fatal.error.code, 'ORIGIN_NOT_ALLOWED');
  assert.equal(s.client.status, 'stopped');
  await conn.closed;
  await assert.rejects(s.client.whenOpen(), (e: unknown) => e instanceof ProtocolError && e.code === DISCONNECTED);
  // No second connection arrives: a ping-free wait for something that must not happen is a
  // new connection; the server's queue stays empty after the socket closed.
  assert.equal(s.server.conns.size, 0);
});

test('a rate-limited create waits at least retryAfterMs before the next attempt', async (t) => {
  const s = await setup(t);
  s.client.start();
  const conn = await s.server.next();
  const create = await conn.next();
  conn.error(create.requestId, 'RATE_LIMITED', 'too many sessions created on this connection; retry later', { retryAfterMs: 1200 });
  const ev = await s.events.waitFor('status', (e) => e.status === 'reconnecting' && e.retryInMs !== undefined);
  assert.equal(ev.retryInMs, 1200);
});

test('history, conversation list, rename and switching use the current session', async (t) => {
  const s = await setup(t, memoryStore(), 'user-7');
  s.client.start();
  const { conn, create } = await accept(s, 1, 'C1');
  assert.deepEqual(create.authContext, { userId: 'user-7', signature: 'ab', timestamp: 1 });

  const page = s.client.history('M5', 10);
  const hf = await conn.next();
  assert.deepEqual([hf.action, hf.sessionId, hf.cursor, hf.limit], ['get_conversation_messages', 'S1', 'M5', 10]);
  conn.ok(hf, { messages: [{ id: 'M4', direction: 'inbound', content: { text: 'hi' }, createdAt: '2026-01-01T00:00:00.000Z' }], nextCursor: null, hasMore: false });
  assert.equal((await page).messages[0]?.id, 'M4');

  const list = s.client.listConversations();
  const lf = await conn.next();
  assert.deepEqual([lf.action, lf.agentId], ['list_conversations', 'A1']);
  conn.ok(lf, { conversations: [{ conversationId: 'C1', title: 'Hours', updatedAt: '2026-01-01T00:00:00.000Z', messageCount: 2 }] });
  assert.equal((await list)[0]?.title, 'Hours');

  const renamed = s.client.rename('C1', '  "Opening hours" ');
  const rf = await conn.next();
  assert.deepEqual([rf.action, rf.conversationId, rf.title], ['rename_conversation', 'C1', '  "Opening hours" ']);
  conn.ok(rf, { conversationId: 'C1', title: 'Opening hours' });
  assert.equal(await renamed, 'Opening hours');
  assert.equal(new Conversations(s.store, 'A1', 'ctx:user-7').get('C1')?.title, 'Opening hours');
  assert.equal(new Conversations(s.store, 'A1', 'anon').get('C1'), undefined, 'a signed-in visitor\'s conversations are kept apart');

  const fresh = s.client.switchConversation(null);
  const nf = await conn.next();
  assert.equal(nf.action, 'create_conversation_session');
  assert.equal(nf.conversationId, undefined);
  conn.ok(nf, session(2, 'C2'));
  assert.equal((await fresh).conversationId, 'C2');

  const back = s.client.switchConversation('C1');
  const bf = await conn.next();
  assert.deepEqual([bf.conversationId, bf.resumeToken], ['C1', 'srt_token_1']);
  conn.ok(bf, session(3, 'C1'));
  assert.equal((await back).sessionId, 'S3');
  assert.equal(s.client.session?.sessionId, 'S3');
});

test('cancel sends the running turn\'s requestId, and nothing when no turn runs', async (t) => {
  const s = await setup(t);
  s.client.start();
  const { conn } = await accept(s, 1, 'C1');
  s.client.cancel(); // no turn: nothing is sent
  const sent = s.client.send('long question');
  const f = await conn.next();
  conn.ok(f, {}, 202);
  await sent;
  s.client.cancel();
  const c = await conn.next();
  assert.deepEqual([c.action, c.requestId], ['cancel', f.requestId], 'the first frame after the send is the turn\'s cancel');
  conn.send({ type: 'cancelled', requestId: f.requestId, status: 499, data: { requestId: f.requestId, status: 499 } });
  const ev = await s.events.waitFor('turn');
  assert.equal(ev.event.type, 'cancelled');
  assert.equal(s.client.activeTurn, undefined);
});

test('pings on its interval while open', async (t) => {
  const server = await FakeServer.start();
  const client = new ChatClient({
    url: server.url, agentId: 'A1', store: memoryStore(),
    createSocket, pingIntervalMs: 20, random: () => 0.5,
  });
  t.after(async () => {
    client.stop();
    await server.close();
  });
  client.start();
  const conn = await server.next();
  const create = await conn.frames.next('create');
  conn.ok(create, session(1, 'C1'));
  const ping = await conn.frames.next('ping');
  assert.equal(ping.action, 'ping');
});

test('a session listener may send requests at once, before anything typed while connecting', async (t) => {
  const s = await setup(t);
  const first: string[] = [];
  s.client.on((e) => {
    if (e.kind === 'session') first.push('session');
    if (e.kind === 'session') void s.client.history().catch(() => {});
  });
  s.client.start();
  // A message typed while the socket opens waits for the session.
  const typed = s.client.whenOpen().then(() => s.client.send('typed early'));
  const conn = await s.server.next();
  const create = await conn.next();
  conn.ok(create, session(1, 'C1'));
  const h = await conn.next();
  assert.equal(h.action, 'get_conversation_messages', 'the history request goes first');
  const m = await conn.next();
  assert.deepEqual([m.action, m.message], ['send_message', 'typed early']);
  conn.ok(m, {}, 202);
  assert.equal(await typed, m.requestId);
  assert.deepEqual(first, ['session']);
});

test('an authContext provider is asked for a fresh signature before every session', async (t) => {
  const server = await FakeServer.start();
  const store = memoryStore();
  let calls = 0;
  const client = new ChatClient({
    url: server.url, agentId: 'A1', store, createSocket, backoff: { baseMs: 10, maxMs: 40 }, random: () => 0.5,
    authContext: async () => {
      calls += 1;
      if (calls === 2) throw new Error('the site is down');
      return { userId: 'dana', signature: `sig-${calls}`, timestamp: 1000 + calls };
    },
  });
  const events = recorder<ClientEvent>();
  client.on((e) => events.push(e));
  t.after(async () => {
    client.stop();
    await server.close();
  });
  client.start();
  const conn = await server.next();
  const create = await conn.next();
  assert.deepEqual(create.authContext, { userId: 'dana', signature: 'sig-1', timestamp: 1001 });
  conn.ok(create, session(1, 'C1'));
  await events.waitFor('status', (e) => e.status === 'open');
  assert.equal(client.conversations.identity, 'ctx:dana');
  assert.equal(new Conversations(store, 'A1', 'ctx:dana').current()?.id, 'C1');

  // The provider failing is a passing trouble: the client retries, and asks again.
  conn.drop();
  const again = await server.next();
  await events.waitFor('status', (e) => e.status === 'reconnecting' && e.retryInMs !== undefined && calls === 2);
  const third = await server.next();
  const create3 = await third.next();
  assert.deepEqual(create3.authContext, { userId: 'dana', signature: 'sig-3', timestamp: 1003 });
  assert.deepEqual([create3.conversationId, create3.resumeToken], ['C1', 'srt_token_1']);
  assert.equal(again.frames.size, 0, 'nothing was sent on the socket whose provider call failed');
});

test('submit_interaction and verify_otp go under the turn\'s R; their answers settle them and the turn keeps running', async (t) => {
  const s = await setup(t);
  s.client.start();
  const { conn } = await accept(s, 1, 'C1');
  const sent = s.client.send('Send me the brochure');
  const f = await conn.next();
  const R = f.requestId as string;
  conn.ok(f, {}, 202, 'Processing your request...');
  await sent;
  conn.send({ type: 'interaction_required', requestId: R, data: { requestId: R, data: { interactionId: 'I1', kind: 'identity_intake', spec: { fields: [{ key: 'email', required: true }] }, reason: 'to email you' } } });

  // interaction_invalid answers the submit; the turn stays parked.
  const bad = s.client.submitInteraction({ interactionId: 'I1', kind: 'identity_intake', values: { email: 'nope' } });
  const sf = await conn.next();
  assert.deepEqual(sf, { action: 'submit_interaction', requestId: R, sessionId: 'S1', interactionId: 'I1', kind: 'identity_intake', values: { email: 'nope' } });
  conn.send({ type: 'interaction_invalid', requestId: R, data: { requestId: R, data: { interactionId: 'I1', kind: 'identity_intake', errors: [{ field: 'email', message: 'must be a valid email address' }], message: 'Some fields need attention.' } } });
  const inv = await bad;
  assert.equal(inv.type, 'interaction_invalid');
  assert.equal(s.client.activeTurn, R);

  // An error only the submit can cause rejects it and leaves the turn running.
  const mismatch = s.client.submitInteraction({ interactionId: 'I9', kind: 'identity_intake', declined: true });
  const mf = await conn.next();
  assert.equal(mf.declined, true);
  assert.equal(mf.values, undefined);
  conn.error(R, 'INTERACTION_MISMATCH', 'the submitted \'interactionId\' does not match the pending interaction');
  const err = await mismatch.then(() => assert.fail('resolved'), (e: unknown) => e);
  assert.ok(err instanceof ProtocolError && err.code === 'INTERACTION_MISMATCH');
  assert.equal(s.client.activeTurn, R, 'a refused submit does not end the turn');

  const good = s.client.submitInteraction({ interactionId: 'I1', kind: 'identity_intake', values: { email: 'Dana@Example.COM' } });
  const gf = await conn.next();
  conn.ok(gf, { sessionId: 'S1', interactionId: 'I1', kind: 'identity_intake', values: { email: 'Dana@example.com' } }, 200, 'Interaction submitted');
  assert.equal((await good).type, 'immediate_response');

  // The code entry: otp_invalid then otp_verified answer verify_otp.
  conn.send({ type: 'otp_verification_required', requestId: R, data: { requestId: R, data: { toolId: 'orders', actionDescription: '', availableChannels: ['email'], authLevel: 'end_user' } } });
  conn.send({ type: 'otp_sent', requestId: R, data: { requestId: R, data: { channel: 'email', maskedDestination: 'D***@example.com' } } });
  const wrong = s.client.verifyOtp('000000');
  const of = await conn.next();
  assert.deepEqual(of, { action: 'verify_otp', requestId: R, sessionId: 'S1', code: '000000' });
  conn.send({ type: 'otp_invalid', requestId: R, data: { requestId: R, data: { error: 'INVALID_CODE', attemptsRemaining: 4, message: 'That code is not correct. Try again.' } } });
  assert.equal((await wrong).data.data.attemptsRemaining, 4);
  const right = s.client.verifyOtp('123456');
  await conn.next();
  conn.send({ type: 'otp_verified', requestId: R, data: { requestId: R, data: { message: 'Identity verified successfully.' } } });
  assert.equal((await right).type, 'otp_verified');

  // The turn's own terminal error still ends the turn.
  conn.error(R, 'AGENT_ERROR', 'agent turn failed: llm error');
  await s.events.waitFor('turn', (e) => e.event.type === 'error');
  const turn = s.events.all.filter((e) => e.kind === 'turn').map((e) => (e as any).event.type);
  assert.deepEqual(turn, ['interaction_required', 'otp_verification_required', 'otp_sent', 'error']);
  assert.equal(s.client.activeTurn, undefined);
});
