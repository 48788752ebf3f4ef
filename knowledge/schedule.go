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
// github.com/robfig/cron/v3 after the characters are checked against the grammar. A cron
// expression that can fire twice within 15 minutes is refused: the floor @every has applies
// to every schedule.
func ParseSchedule(s string) (Schedule, error) {
	sch, err := parseSchedule(s)
	if err != nil {
		return nil, err
	}
	if u, ok := sch.(utcSchedule); ok {
		if gap := minCronGap(u.s); gap < minEvery {
			return nil, fmt.Errorf("must not fire more often than every 15m; %s can fire %s apart", echo(s), gap)
		}
	}
	return sch, nil
}

// parseStoredSchedule parses a schedule that was validated when it was stored, without the
// cron floor: one stored before the floor existed keeps running, and the scheduler's own
// guard (scheduleGuard) still spaces its runs.
func parseStoredSchedule(s string) (Schedule, error) { return parseSchedule(s) }

func parseSchedule(s string) (Schedule, error) {
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

// minCronGap is the shortest time between two firings of a cron schedule. Within a day the
// firings are every chosen minute of every chosen hour; across midnight, the last firing of a
// day and the first of the next count only when two consecutive days can both fire.
func minCronGap(c cron.Schedule) time.Duration {
	s, ok := c.(*cron.SpecSchedule)
	if !ok {
		return maxEvery
	}
	var times []int // minutes of the day
	for h := 0; h < 24; h++ {
		for m := 0; m < 60 && s.Hour&(1<<h) != 0; m++ {
			if s.Minute&(1<<m) != 0 {
				times = append(times, h*60+m)
			}
		}
	}
	if len(times) == 0 {
		return maxEvery
	}
	gap := 24 * 60
	for i := 1; i < len(times); i++ {
		gap = min(gap, times[i]-times[i-1])
	}
	if wrap := 24*60 - times[len(times)-1] + times[0]; wrap < gap && consecutiveDaysFire(s) {
		gap = wrap
	}
	return time.Duration(gap) * time.Minute
}

// consecutiveDaysFire reports whether a schedule fires on two consecutive days, over 28
// years (every pairing of weekday, date and leap year). Days match as cron matches them: day
// of month and day of week must both match when either is '*', else either may.
func consecutiveDaysFire(s *cron.SpecSchedule) bool {
	const star = 1 << 63
	fires := func(t time.Time) bool {
		if s.Month&(1<<uint(t.Month())) == 0 {
			return false
		}
		dom, dow := s.Dom&(1<<uint(t.Day())) != 0, s.Dow&(1<<uint(t.Weekday())) != 0
		if s.Dom&star != 0 || s.Dow&star != 0 {
			return dom && dow
		}
		return dom || dow
	}
	day := time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)
	prev := fires(day)
	for i := 0; i < 28*366; i++ {
		day = day.AddDate(0, 0, 1)
		cur := fires(day)
		if prev && cur {
			return true
		}
		prev = cur
	}
	return false
}

// utcSchedule evaluates a cron schedule in UTC whatever the process's time zone.
type utcSchedule struct{ s cron.Schedule }

func (u utcSchedule) Next(t time.Time) time.Time { return u.s.Next(t.UTC()) }

// due reports whether a schedule fired after since and at or before now.
func due(s Schedule, since, now time.Time) bool {
	next := s.Next(since)
	return !next.IsZero() && !next.After(now)
}
