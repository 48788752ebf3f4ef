package admin

import (
	"time"

	"github.com/gofiber/fiber/v2"
)

// jsonTime renders as RFC 3339 UTC with milliseconds and Z (ADMIN-API §1.4).
type jsonTime time.Time

const timeLayout = "2006-01-02T15:04:05.000Z"

// MarshalText rather than MarshalJSON: encoding/json re-validates a Marshaler's output,
// which showed up in the list benchmarks.
func (t jsonTime) MarshalText() ([]byte, error) {
	return time.Time(t).UTC().AppendFormat(make([]byte, 0, len(timeLayout)), timeLayout), nil
}

func ts(t time.Time) jsonTime { return jsonTime(t) }

func tsPtr(t *time.Time) *jsonTime {
	if t == nil {
		return nil
	}
	v := jsonTime(*t)
	return &v
}

// reply writes a JSON body with the given status.
func reply(c *fiber.Ctx, status int, v any) error {
	return c.Status(status).JSON(v, fiber.MIMEApplicationJSONCharsetUTF8)
}

// nonNil keeps empty lists as [] rather than null.
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
