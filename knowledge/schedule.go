package knowledge

import (
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/robfig/cron/v3"
)

// Schedule is a parsed connector schedule (ADMIN-API §9.11), evaluated in UTC.
type Schedule interface {
	// Next is the first firing strictly after t.
	Next(t time.Time) time.Time
}

// Bounds of an @every schedule.
const (
	minEvery = 15 * time.Minute
	maxEvery = 720 * time.Hour
)

// every fires at fixed intervals counted from the time it is asked about.
type every time.Duration

func (e every) Next(t time.Time) time.Time { return t.Add(time.Duration(e)) }

// cronFieldRe admits what the grammar names: numbers, '*', ranges, lists and steps.
// Month and weekday names, '?', 'L', 'W' and '#' are not part of it.
var cronFieldRe = regexp.MustCompile(`^[0-9*,/-]+$`)

var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow)

// ParseSchedule parses the schedule grammar: `@every <duration>` (Go duration syntax,
// 15m..720h), `@hourly`, `@daily`, `@weekly`, or a 5-field cron expression (minute, hour,
// day of month, month, day of week) evaluated in UTC. The cron fields are parsed by
// github.com/robfig/cron/v3 after the characters are checked against the grammar.
func ParseSchedule(s string) (Schedule, error) {
	if utf8.RuneCountInString(s) > MaxScheduleChars {
		return nil, fmt.Errorf("must be at most %d characters", MaxScheduleChars)
	}
	switch s {
	case "@hourly", "@daily", "@weekly":
		sch, err := cronParser.Parse(map[string]string{"@hourly": "0 * * * *", "@daily": "0 0 * * *", "@weekly": "0 0 * * 0"}[s])
		if err != nil {
			return nil, err
		}
		return utcSchedule{sch}, nil
	}
	if rest, ok := strings.CutPrefix(s, "@every "); ok {
		d, err := time.ParseDuration(strings.TrimSpace(rest))
		if err != nil {
			return nil, fmt.Errorf("@every needs a Go duration such as 30m or 6h (got %s)", echo(rest))
		}
		if d < minEvery || d > maxEvery {
			return nil, fmt.Errorf("@every must be between 15m and 720h (got %s)", echo(rest))
		}
		return every(d), nil
	}
	fields := strings.Fields(s)
	if len(fields) != 5 || strings.HasPrefix(s, "@") {
		return nil, fmt.Errorf("must be @every <duration>, @hourly, @daily, @weekly or a 5-field cron expression (got %s)", echo(s))
	}
	for _, f := range fields {
		if !cronFieldRe.MatchString(f) {
			return nil, fmt.Errorf("cron fields allow only numbers, '*', ranges, lists and steps (got %s)", echo(f))
		}
	}
	sch, err := cronParser.Parse(strings.Join(fields, " "))
	if err != nil {
		return nil, fmt.Errorf("is not a valid cron expression: %s", echo(err.Error()))
	}
	return utcSchedule{sch}, nil
}

// utcSchedule evaluates a cron schedule in UTC whatever the process's time zone.
type utcSchedule struct{ s cron.Schedule }

func (u utcSchedule) Next(t time.Time) time.Time { return u.s.Next(t.UTC()) }

// due reports whether a schedule fired after since and at or before now.
func due(s Schedule, since, now time.Time) bool {
	next := s.Next(since)
	return !next.IsZero() && !next.After(now)
}
