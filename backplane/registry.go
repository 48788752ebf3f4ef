package backplane

import (
	"sync"

	"github.com/google/uuid"
)

// Subscriber is one local socket. Deliver is called by the hub's single dispatch
// goroutine, so calls to one subscriber never overlap and arrive in delivery order. It must
// not block (queue the event for the socket's writer, or drop it if the queue is full) and
// must not call back into its Binding.
type Subscriber interface {
	Deliver(ev Event)
}

// key is one thing a socket can be bound to. org is set only for User, so that an identity
// matches only within its org.
type key struct {
	kind Kind
	org  uuid.UUID
	id   string
}

// Binding is a subscriber's registration: the set of targets it receives. Its methods are
// safe for concurrent use. After Close returns, Deliver is never called again.
type Binding struct {
	hub *Hub
	sub Subscriber

	// keys and closed are guarded by hub.mu.
	keys   map[key]struct{}
	closed bool

	// dmu serialises a delivery with Close, so no delivery follows Close.
	dmu  sync.Mutex
	dead bool
}

// Register adds a subscriber, bound to this hub's instance from the start (every socket
// is bound to its instance). Bind the rest as the socket learns them; Close it when the
// socket ends.
func (h *Hub) Register(sub Subscriber) *Binding {
	b := &Binding{hub: h, sub: sub, keys: map[key]struct{}{}}
	b.add(key{kind: Instance, id: h.instanceID.String()})
	return b
}

// Bind adds a target of any kind but User (use BindUser): the socket's connection id,
// a session created or resumed on it, that session's conversation and agent, an org. UUID
// ids are matched in canonical form whatever their case. Binding twice is harmless.
func (b *Binding) Bind(kind Kind, id string) {
	b.add(bindKey(kind, id))
}

// Unbind removes a target added with Bind.
func (b *Binding) Unbind(kind Kind, id string) {
	b.remove(bindKey(kind, id))
}

// BindUser adds a verified end-user identity ("jwt:<sub>" or "ctx:<userId>") in orgID:
// user events of that org for that identity reach the socket, those of other orgs never do.
func (b *Binding) BindUser(orgID uuid.UUID, identity string) {
	b.add(key{kind: User, org: orgID, id: identity})
}

// Close removes every binding. Events being dispatched when Close is called are either
// delivered before it returns or not at all.
func (b *Binding) Close() {
	h := b.hub
	h.mu.Lock()
	if !b.closed {
		b.closed = true
		for k := range b.keys {
			h.unindex(k, b)
		}
		b.keys = nil
	}
	h.mu.Unlock()
	b.dmu.Lock()
	b.dead = true
	b.dmu.Unlock()
}

// bindKey builds the key of a non-user target; misuse is a programming error.
func bindKey(kind Kind, id string) key {
	switch {
	case kind == User:
		panic("backplane: bind user identities with BindUser, which takes their org")
	case !kind.Valid():
		panic("backplane: unknown target kind " + string(kind))
	}
	return key{kind: kind, id: canonicalID(kind, id)}
}

func (b *Binding) add(k key) {
	h := b.hub
	h.mu.Lock()
	defer h.mu.Unlock()
	if b.closed {
		return
	}
	if _, ok := b.keys[k]; ok {
		return
	}
	b.keys[k] = struct{}{}
	set := h.subs[k]
	if set == nil {
		set = map[*Binding]struct{}{}
		h.subs[k] = set
	}
	set[b] = struct{}{}
}

func (b *Binding) remove(k key) {
	h := b.hub
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := b.keys[k]; !ok {
		return
	}
	delete(b.keys, k)
	h.unindex(k, b)
}

// unindex drops b from k's set; h.mu must be held.
func (h *Hub) unindex(k key, b *Binding) {
	set := h.subs[k]
	delete(set, b)
	if len(set) == 0 {
		delete(h.subs, k)
	}
}

// deliver hands ev to the subscriber unless the binding was closed.
func (b *Binding) deliver(ev Event) bool {
	b.dmu.Lock()
	defer b.dmu.Unlock()
	if b.dead {
		return false
	}
	b.sub.Deliver(ev)
	return true
}

// eventKey is the key an event is delivered to. Org and user events are keyed by the
// event's org column, never by anything else the publisher wrote.
func eventKey(ev Event) key {
	switch ev.Target.Type {
	case User:
		return key{kind: User, org: ev.OrgID, id: ev.Target.ID}
	case Org:
		return key{kind: Org, id: ev.OrgID.String()}
	}
	return key{kind: ev.Target.Type, id: canonicalID(ev.Target.Type, ev.Target.ID)}
}

// bound snapshots the bindings of k into buf.
func (h *Hub) bound(k key, buf []*Binding) []*Binding {
	h.mu.RLock()
	defer h.mu.RUnlock()
	for b := range h.subs[k] {
		buf = append(buf, b)
	}
	return buf
}
