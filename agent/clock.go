package agent

import (
	"errors"
	"time"
)

// errTurnTimedOut is the cause a turn is cancelled with when it has run for
// SWITCHBOARD_TURN_TIMEOUT: it ends with AGENT_ERROR "model gateway timed out".
var errTurnTimedOut = errors.New("turn ran longer than SWITCHBOARD_TURN_TIMEOUT")

// turnClock is a turn's deadline. It runs while the turn works (model calls, tools) and stops
// while the turn is parked on a decision, whose own timeout bounds the wait: a gateway that
// trickles bytes for ever cannot keep a turn alive, and a person deciding slowly cannot make
// it fail. pause and resume are called on the turn's goroutine only; the timer fires on its
// own.
type turnClock struct {
	timer  *time.Timer
	left   time.Duration
	since  time.Time
	paused bool
}

// startClock calls fire once the turn has worked for d; d <= 0 never fires.
func startClock(d time.Duration, fire func()) *turnClock {
	if d <= 0 {
		return nil
	}
	return &turnClock{timer: time.AfterFunc(d, fire), left: d, since: time.Now()}
}

func (c *turnClock) pause() {
	if c == nil || c.paused {
		return
	}
	// A timer that already fired stays fired: resume must not rearm it.
	if c.paused = c.timer.Stop(); c.paused {
		c.left -= time.Since(c.since)
	}
}

func (c *turnClock) resume() {
	if c == nil || !c.paused {
		return
	}
	c.paused, c.since = false, time.Now()
	c.timer.Reset(max(c.left, 0))
}

func (c *turnClock) stop() {
	if c != nil {
		c.timer.Stop()
	}
}
