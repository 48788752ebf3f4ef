package admin_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/switchboard-dev/switchboard/api/admin/admintest"
)

// settingsBody is the Settings object of ADMIN-API §9.6.
type settingsBody struct {
	OrgID              string   `json:"orgId"`
	Model              string   `json:"model"`
	SystemPrompt       string   `json:"systemPrompt"`
	Persona            *string  `json:"persona"`
	DefaultTools       []string `json:"defaultTools"`
	MaxIterations      *int     `json:"maxIterations"`
	MaxTokens          *int     `json:"maxTokens"`
	MonthlyTokenBudget *int64   `json:"monthlyTokenBudget"`
	// ConversationRetentionDays is null while conversations are kept for ever.
	ConversationRetentionDays *int32  `json:"conversationRetentionDays"`
	UpdatedAt                 *string `json:"updatedAt"`
}

// String renders every field but updatedAt, for comparisons.
func (b settingsBody) String() string {
	show := func(p any) string {
		raw, _ := json.Marshal(p)
		return string(raw)
	}
	return fmt.Sprintf("model=%s prompt=%s persona=%s tools=%s maxIterations=%s maxTokens=%s budget=%s",
		b.Model, b.SystemPrompt, show(b.Persona), show(b.DefaultTools), show(b.MaxIterations), show(b.MaxTokens), show(b.MonthlyTokenBudget))
}

func decodeSettings(t *testing.T, r resp) settingsBody {
	t.Helper()
	var out struct {
		Settings settingsBody `json:"settings"`
	}
	if err := json.Unmarshal(r.body, &out); err != nil {
		t.Fatalf("settings body %s: %v", r.body, err)
	}
	return out.Settings
}

// lastSettingsFields is details.fields of o's newest settings.update audit row.
func (s *server) lastSettingsFields(t *testing.T, o org) []string {
	t.Helper()
	var fields []string
	for _, row := range s.auditRows(t, o) {
		if row.Action == "settings.update" {
			var d struct {
				Fields []string `json:"fields"`
			}
			if err := json.Unmarshal(row.Details, &d); err != nil {
				t.Fatal(err)
			}
			fields = d.Fields
		}
	}
	return fields
}

func TestSettingsDefaultsAndPartialWrites(t *testing.T) {
	t.Parallel()
	s := start(t, map[string]string{"SWITCHBOARD_DEFAULT_MODEL": "house-model"})
	a := s.newOrg(t, "A")
	r := s.do(t, "GET", "/admin/settings", a.key, nil).want(t, 200)
	want := `{"settings":{"orgId":"` + a.id.String() + `","model":"house-model","systemPrompt":"You are a helpful assistant on this organization's website. Answer concisely, use the knowledge tools when they help, and say so when you do not know.","persona":null,"defaultTools":["knowledge_search","request_identity_intake","request_choices"],"maxIterations":null,"maxTokens":null,"monthlyTokenBudget":null,"conversationRetentionDays":null,"updatedAt":null}}`
	if string(r.body) != want {
		t.Fatalf("defaults\n%s\nwant\n%s", r.body, want)
	}
	full := decodeSettings(t, s.do(t, "PUT", "/admin/settings", a.key, map[string]any{"model": "gpt-4o", "systemPrompt": "Be brief.",
		"persona": "Warm.", "defaultTools": []string{}, "maxIterations": 4, "maxTokens": 256, "monthlyTokenBudget": 2000000}).want(t, 200))
	if full.UpdatedAt == nil || full.String() != `model=gpt-4o prompt=Be brief. persona="Warm." tools=[] maxIterations=4 maxTokens=256 budget=2000000` {
		t.Fatalf("after a full PUT %+v", full)
	}

	t.Run("a partial PUT keeps every field it omits, the budget included", func(t *testing.T) {
		// The smooth-operator console saves exactly these three fields.
		got := decodeSettings(t, s.do(t, "PUT", "/admin/settings", a.key, map[string]any{
			"model": "gpt-4o-mini", "systemPrompt": "Be brief.", "defaultTools": []string{"knowledge_search"}}).want(t, 200))
		if got.String() != `model=gpt-4o-mini prompt=Be brief. persona="Warm." tools=["knowledge_search"] maxIterations=4 maxTokens=256 budget=2000000` {
			t.Fatalf("after the console's PUT %+v", got)
		}
		if f := s.lastSettingsFields(t, a); !slices.Equal(f, []string{"model", "defaultTools"}) {
			t.Fatalf("audit fields %v, want only the changed ones", f)
		}
		if read := decodeSettings(t, s.do(t, "GET", "/admin/settings", a.key, nil).want(t, 200)); read.String() != got.String() || *read.UpdatedAt != *got.UpdatedAt {
			t.Fatalf("GET %+v differs from PUT %+v", read, got)
		}
	})
	t.Run("null clears a nullable field and nothing else", func(t *testing.T) {
		got := decodeSettings(t, s.do(t, "PUT", "/admin/settings", a.key, `{"monthlyTokenBudget":null,"persona":null}`).want(t, 200))
		if got.String() != `model=gpt-4o-mini prompt=Be brief. persona=null tools=["knowledge_search"] maxIterations=4 maxTokens=256 budget=null` {
			t.Fatalf("after clearing %+v", got)
		}
		if f := s.lastSettingsFields(t, a); !slices.Equal(f, []string{"persona", "monthlyTokenBudget"}) {
			t.Fatalf("audit fields %v", f)
		}
	})
	t.Run("an empty body changes nothing but updatedAt", func(t *testing.T) {
		before := decodeSettings(t, s.do(t, "GET", "/admin/settings", a.key, nil).want(t, 200))
		got := decodeSettings(t, s.do(t, "PUT", "/admin/settings", a.key, `{}`).want(t, 200))
		if got.String() != before.String() {
			t.Fatalf("{} changed %+v into %+v", before, got)
		}
		if f := s.lastSettingsFields(t, a); len(f) != 0 {
			t.Fatalf("audit fields %v", f)
		}
	})
	t.Run("a refused PUT changes nothing", func(t *testing.T) {
		before := decodeSettings(t, s.do(t, "GET", "/admin/settings", a.key, nil).want(t, 200))
		s.do(t, "PUT", "/admin/settings", a.key, `{"maxTokens":8,"model":null}`).wantError(t, 400, "VALIDATION_ERROR", "model")
		if after := decodeSettings(t, s.do(t, "GET", "/admin/settings", a.key, nil).want(t, 200)); after.String() != before.String() || *after.UpdatedAt != *before.UpdatedAt {
			t.Fatalf("a 400 changed %+v into %+v", before, after)
		}
	})
	t.Run("a first partial write stores the defaults it read for the rest", func(t *testing.T) {
		b := s.newOrg(t, "B")
		got := decodeSettings(t, s.do(t, "PUT", "/admin/settings", b.key, `{"monthlyTokenBudget":1000}`).want(t, 200))
		if got.UpdatedAt == nil || got.String() != `model=house-model prompt=You are a helpful assistant on this organization's website. Answer concisely, use the knowledge tools when they help, and say so when you do not know. persona=null tools=["knowledge_search","request_identity_intake","request_choices"] maxIterations=null maxTokens=null budget=1000` {
			t.Fatalf("first write %+v", got)
		}
		if f := s.lastSettingsFields(t, b); !slices.Equal(f, []string{"monthlyTokenBudget"}) {
			t.Fatalf("audit fields %v", f)
		}
	})
}

// TestConcurrentPartialSettingsWritesKeepEachOther sends one partial PUT per field at the
// same time, to an org that never wrote settings: each write reads what the others
// stored, so every field ends up set.
func TestConcurrentPartialSettingsWritesKeepEachOther(t *testing.T) {
	t.Parallel()
	s := start(t, nil)
	a := s.newOrg(t, "A")
	bodies := []string{
		`{"model":"m-concurrent"}`, `{"systemPrompt":"Concurrent."}`, `{"persona":"Calm."}`, `{"defaultTools":[]}`,
		`{"maxIterations":7}`, `{"maxTokens":700}`, `{"monthlyTokenBudget":7000}`,
	}
	var wg sync.WaitGroup
	statuses := make([]int, len(bodies))
	errs := make([]error, len(bodies))
	for i, b := range bodies {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, err := http.NewRequest("PUT", s.URL+"/admin/settings", strings.NewReader(b))
			if err != nil {
				errs[i] = err
				return
			}
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+a.key)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				errs[i] = err
				return
			}
			_ = res.Body.Close()
			statuses[i] = res.StatusCode
		}()
	}
	wg.Wait()
	for i, st := range statuses {
		if errs[i] != nil || st != 200 {
			t.Fatalf("PUT %s: status %d, %v", bodies[i], st, errs[i])
		}
	}
	got := decodeSettings(t, s.do(t, "GET", "/admin/settings", a.key, nil).want(t, 200))
	if got.String() != `model=m-concurrent prompt=Concurrent. persona="Calm." tools=[] maxIterations=7 maxTokens=700 budget=7000` {
		t.Fatalf("a concurrent partial write was lost: %+v", got)
	}
}

func TestConversationRetentionDaysSetting(t *testing.T) {
	t.Parallel()
	s := start(t, nil)
	a := s.newOrg(t, "A")
	days := func(r resp) *int32 {
		return decode[admintest.SettingsAnswer](t, r.want(t, 200)).Settings.ConversationRetentionDays
	}
	if got := days(s.do(t, "GET", "/admin/settings", a.key, nil)); got != nil {
		t.Fatalf("default retention = %d, want null (keep everything)", *got)
	}
	if got := days(s.do(t, "PUT", "/admin/settings", a.key, `{"conversationRetentionDays":30}`)); got == nil || *got != 30 {
		t.Fatalf("after setting 30: %v", got)
	}
	if got := days(s.do(t, "PUT", "/admin/settings", a.key, `{"maxTokens":100}`)); got == nil || *got != 30 {
		t.Fatalf("a write that omits it changed it: %v", got)
	}
	for _, bad := range []string{`{"conversationRetentionDays":0}`, `{"conversationRetentionDays":36501}`,
		`{"conversationRetentionDays":"30"}`, `{"conversationRetentionDays":1.5}`} {
		s.do(t, "PUT", "/admin/settings", a.key, bad).wantError(t, 400, "VALIDATION_ERROR", "conversationRetentionDays")
	}
	rows := s.auditRows(t, a)
	if last := rows[len(rows)-1]; !strings.Contains(string(last.Details), "maxTokens") {
		t.Fatalf("last audit: %s", last.Details)
	}
	if got := days(s.do(t, "PUT", "/admin/settings", a.key, `{"conversationRetentionDays":null}`)); got != nil {
		t.Fatalf("null did not clear it: %d", *got)
	}
	rows = s.auditRows(t, a)
	if last := rows[len(rows)-1]; string(last.Details) != `{"fields": ["conversationRetentionDays"]}` {
		t.Fatalf("audit of clearing it: %s", last.Details)
	}
}
