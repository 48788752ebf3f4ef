// What the widget remembers between page loads, per agent and per visitor identity, in the
// embedding origin's localStorage: the current conversation and, for each conversation
// this browser started, its resume token (PROTOCOL §3.5: a secret, kept private to the
// origin) and a title to list it by.

/** The subset of the Web Storage API the widget uses; tests pass an in-memory one. */
export interface KeyValueStore {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

export interface KnownConversation {
  id: string;
  token?: string;
  title?: string;
  updatedAt?: string;
}

interface Saved {
  current?: string;
  conversations: KnownConversation[];
}

/** At most this many conversations are remembered; the least recently used go first. */
export const MAX_KNOWN = 20;

/** A store that forgets everything: for browsers that refuse localStorage. */
export function memoryStore(): KeyValueStore {
  const m = new Map<string, string>();
  return {
    getItem: (k) => (m.has(k) ? (m.get(k) as string) : null),
    setItem: (k, v) => void m.set(k, v),
    removeItem: (k) => void m.delete(k),
  };
}

/** localStorage when it is usable (it throws in some privacy modes), else memory. */
export function browserStore(): KeyValueStore {
  try {
    const s = window.localStorage;
    const probe = '__switchboard_probe__';
    s.setItem(probe, '1');
    s.removeItem(probe);
    return s;
  } catch {
    return memoryStore();
  }
}

/**
 * Conversations remembers the visitor's conversations with one agent. `identity` keeps two
 * signed-in users of one browser apart (their conversations are owned, §3.2, and the titles
 * of one must not be listed to the other); anonymous visitors share "anon".
 */
export class Conversations {
  private readonly key: string;

  constructor(private readonly store: KeyValueStore, agentId: string, readonly identity: string) {
    this.key = `switchboard:v1:${agentId}:${identity}`;
  }

  private load(): Saved {
    try {
      const raw = this.store.getItem(this.key);
      if (!raw) return { conversations: [] };
      const v = JSON.parse(raw);
      const list = Array.isArray(v?.conversations) ? v.conversations.filter((c: any) => typeof c?.id === 'string') : [];
      return { current: typeof v?.current === 'string' ? v.current : undefined, conversations: list };
    } catch {
      return { conversations: [] };
    }
  }

  private save(s: Saved): void {
    try {
      this.store.setItem(this.key, JSON.stringify(s));
    } catch {
      // A full or refused store only costs the resume after a reload.
    }
  }

  /** The conversation to resume, with its token when this browser has one. */
  current(): KnownConversation | undefined {
    const s = this.load();
    return s.current ? s.conversations.find((c) => c.id === s.current) ?? { id: s.current } : undefined;
  }

  get(id: string): KnownConversation | undefined {
    return this.load().conversations.find((c) => c.id === id);
  }

  list(): KnownConversation[] {
    return this.load().conversations;
  }

  /** Records a session's conversation as the current one, with its fresh resume token. */
  remember(id: string, token: string | undefined): void {
    const s = this.load();
    const prev = s.conversations.find((c) => c.id === id);
    const entry: KnownConversation = { ...prev, id };
    if (token) entry.token = token;
    s.conversations = [entry, ...s.conversations.filter((c) => c.id !== id)].slice(0, MAX_KNOWN);
    s.current = id;
    this.save(s);
  }

  /** Updates what the list shows for a conversation this browser knows. */
  describe(id: string, fields: { title?: string; updatedAt?: string }): void {
    const s = this.load();
    const c = s.conversations.find((x) => x.id === id);
    if (!c) return;
    if (fields.title !== undefined) c.title = fields.title;
    if (fields.updatedAt !== undefined) c.updatedAt = fields.updatedAt;
    this.save(s);
  }

  /** Forgets the current conversation, so the next session starts a fresh one. */
  clearCurrent(): void {
    const s = this.load();
    delete s.current;
    this.save(s);
  }
}
