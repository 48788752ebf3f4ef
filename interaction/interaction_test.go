package interaction_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/switchboard-dev/switchboard/interaction"
)

func TestParseRaiseBuildsTheCanonicalSpecs(t *testing.T) {
	for _, tc := range []struct {
		name        string
		kind        interaction.Kind
		args        string
		spec        string
		reason      string
		argumentErr string
	}{
		{name: "identity strings and objects", kind: interaction.IdentityIntake,
			args:   `{"fields":["email",{"key":"phone","required":false},{"key":"name","label":"  Your name "}],"reason":" to email you the brochure "}`,
			spec:   `{"fields":[{"key":"email","required":true},{"key":"phone","required":false},{"key":"name","required":true,"label":"Your name"}]}`,
			reason: "to email you the brochure"},
		{name: "blank label dropped, blank reason defaulted", kind: interaction.IdentityIntake,
			args: `{"fields":[{"key":"name","label":"  "}],"reason":"  "}`,
			spec: `{"fields":[{"key":"name","required":true}]}`, reason: "to help you better"},
		{name: "duplicate field", kind: interaction.IdentityIntake,
			args: `{"fields":["email",{"key":"email"}],"reason":"x"}`, argumentErr: "duplicate field 'email'"},
		{name: "choices filled in", kind: interaction.Choices,
			args:   `{"questions":[{"question":" What is your question about? ","header":"Topic","options":["Billing",{"label":" Shipping ","description":" parcels "}]}],"reason":"to route you"}`,
			spec:   `{"questions":[{"question":"What is your question about?","header":"Topic","options":[{"label":"Billing","description":""},{"label":"Shipping","description":"parcels"}],"multiSelect":false}]}`,
			reason: "to route you"},
		{name: "blank question", kind: interaction.Choices,
			args: `{"questions":[{"question":" ","header":"A","options":["x","y"]}],"reason":"r"}`, argumentErr: "each question needs a non-empty 'question'"},
		{name: "blank header", kind: interaction.Choices,
			args: `{"questions":[{"question":"q","header":" ","options":["x","y"]}],"reason":"r"}`, argumentErr: "each question needs a non-empty 'header'"},
		{name: "duplicate header after trimming", kind: interaction.Choices,
			args:        `{"questions":[{"question":"q","header":"A","options":["x","y"]},{"question":"q2","header":" A","options":["x","y"]}],"reason":"r"}`,
			argumentErr: "duplicate question header 'A'"},
		{name: "blank label", kind: interaction.Choices,
			args: `{"questions":[{"question":"q","header":"A","options":["x"," "]}],"reason":"r"}`, argumentErr: "an option in 'A' has an empty label"},
		{name: "duplicate label", kind: interaction.Choices,
			args: `{"questions":[{"question":"q","header":"A","options":["x",{"label":"x "}]}],"reason":"r"}`, argumentErr: "duplicate option 'x' in 'A'"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := interaction.ParseRaise(tc.kind, json.RawMessage(tc.args))
			if tc.argumentErr != "" {
				if err == nil || err.Error() != tc.argumentErr {
					t.Fatalf("err %v, want %q", err, tc.argumentErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(r.Spec) != tc.spec || r.Reason != tc.reason || r.Kind != tc.kind {
				t.Fatalf("got %s %q, want %s %q", r.Spec, r.Reason, tc.spec, tc.reason)
			}
		})
	}
}

func TestReasonIsCutTo200Characters(t *testing.T) {
	r, err := interaction.ParseRaise(interaction.IdentityIntake, json.RawMessage(`{"fields":["name"],"reason":"`+strings.Repeat("é", 250)+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	if r.Reason != strings.Repeat("é", 200)+"…" {
		t.Fatalf("reason %q", r.Reason)
	}
}

func TestIdentityValues(t *testing.T) {
	spec := json.RawMessage(`{"fields":[{"key":"email","required":true},{"key":"phone","required":false}]}`)
	for _, tc := range []struct {
		name, values, canonical string
		spec                    json.RawMessage
		errs                    []interaction.FieldError
	}{
		{name: "normalised", spec: spec, values: `{"email":" Dana@Example.COM ","phone":"(555) 010-0199","extra":1}`,
			canonical: `{"email":"Dana@example.com","phone":"+15550100199"}`},
		{name: "not asked for, still kept", spec: spec, values: `{"name":"Dana","email":"d@x.io"}`,
			canonical: `{"name":"Dana","email":"d@x.io"}`},
		{name: "non-strings", spec: spec, values: `{"name":1,"phone":true,"email":"bad"}`,
			errs: []interaction.FieldError{{Field: "name", Message: "must be a string"}, {Field: "phone", Message: "must be a string"}}},
		{name: "nothing", spec: spec, values: `{"name":"  "}`,
			errs: []interaction.FieldError{{Field: "values", Message: "provide at least one of name/email/phone, or declined=true"}}},
		{name: "required, then rules in order", spec: spec, values: `{"name":"a\u0007b","phone":"+0123456789"}`,
			errs: []interaction.FieldError{{Field: "email", Message: "this field is required"},
				{Field: "name", Message: "must not contain control characters"},
				{Field: "phone", Message: "must be a valid phone number (include your country code, e.g. +1 555 123 4567)"}}},
		{name: "without a spec nothing is required", values: `{"phone":"+44 20 7946 0958"}`, canonical: `{"phone":"+442079460958"}`},
		{name: "long name", values: `{"name":"` + strings.Repeat("n", 201) + `"}`,
			errs: []interaction.FieldError{{Field: "name", Message: "must be at most 200 characters"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := interaction.Validate(interaction.IdentityIntake, tc.spec, json.RawMessage(tc.values))
			if diff := cmp.Diff(tc.errs, got.Errors); diff != "" {
				t.Fatalf("errors (-want +got):\n%s", diff)
			}
			if string(got.Canonical) != tc.canonical {
				t.Fatalf("canonical %s, want %s", got.Canonical, tc.canonical)
			}
		})
	}
}

// TestEmailAndPhoneRules pins PROTOCOL-1.1 §11 line 42 at the unit level.
func TestEmailAndPhoneRules(t *testing.T) {
	for _, bad := range []string{"not-an-email", "a@b", "a b@c.com"} {
		got := interaction.Validate(interaction.IdentityIntake, nil, json.RawMessage(`{"email":"`+bad+`"}`))
		if diff := cmp.Diff([]interaction.FieldError{{Field: "email", Message: "must be a valid email address"}}, got.Errors); diff != "" {
			t.Fatalf("%q (-want +got):\n%s", bad, diff)
		}
	}
	for in, want := range map[string]string{
		"(555) 123-4567": "+15551234567", "15551234567": "+15551234567", "+49 30.1234-5678": "+493012345678",
	} {
		if got, ok := interaction.Phone(in); !ok || got != want {
			t.Fatalf("Phone(%q) = %q %v, want %q", in, got, ok, want)
		}
	}
	for _, bad := range []string{"+0123456789", "+1234567", "25551234567", "555-1234", "+1 555 123 4567 ext 9", strings.Repeat("1", 33)} {
		if _, ok := interaction.Phone(bad); ok {
			t.Fatalf("Phone(%q) accepted", bad)
		}
	}
}

func TestChoicesValues(t *testing.T) {
	spec := json.RawMessage(`{"questions":[` +
		`{"question":"Topic?","header":"Topic","options":[{"label":"Billing","description":""},{"label":"Shipping","description":""}],"multiSelect":false},` +
		`{"question":"Which?","header":"Items","options":[{"label":"A","description":""},{"label":"B","description":""}],"multiSelect":true}]}`)
	for _, tc := range []struct {
		name, values, canonical string
		spec                    json.RawMessage
		errs                    []interaction.FieldError
	}{
		{name: "valid, in question order", spec: spec,
			values:    `{"answers":[{"header":"Items","options":["A","B","A"," "]},{"header":" Topic ","options":[" Billing "]},{"header":"Unknown","options":["z"]}]}`,
			canonical: `{"answers":[{"header":"Topic","options":["Billing"]},{"header":"Items","options":["A","B"]}]}`},
		{name: "other", spec: spec, values: `{"answers":[{"header":"Topic","other":" Returns "},{"header":"Items","options":["A"],"other":"  "}]}`,
			canonical: `{"answers":[{"header":"Topic","options":[],"other":"Returns"},{"header":"Items","options":["A"]}]}`},
		{name: "not an array", spec: spec, values: `{"answers":{}}`,
			errs: []interaction.FieldError{{Field: "values", Message: "'answers' must be an array"}}},
		{name: "shapes", spec: spec, values: `{"answers":[{"header":1},{"header":"Topic","options":"x","other":3}]}`,
			errs: []interaction.FieldError{{Field: "values", Message: "each answer needs a string 'header'"},
				{Field: "Topic", Message: "'options' must be an array of strings"}, {Field: "Topic", Message: "'other' must be a string"}}},
		// PROTOCOL-1.1 §11 line 43 at the unit level.
		{name: "unknown label, two picks, unanswered", spec: spec,
			values: `{"answers":[{"header":"Topic","options":["Billing","Shipping","Refunds"]}]}`,
			errs: []interaction.FieldError{{Field: "Topic", Message: "'Refunds' is not one of the offered options"},
				{Field: "Topic", Message: "this question takes a single answer"}, {Field: "Items", Message: "this question must be answered"}}},
		{name: "no pick", spec: spec, values: `{"answers":[{"header":"Topic"},{"header":"Items","options":["A"],"other":"` + strings.Repeat("o", 501) + `"}]}`,
			errs: []interaction.FieldError{{Field: "Items", Message: "'other' must be at most 500 characters"},
				{Field: "Topic", Message: "select an option or provide an 'other' answer"}}},
		{name: "without a spec", values: `{"answers":[{"header":"Size","options":["XL"]},{"header":"Size","options":["S"]}]}`,
			canonical: `{"answers":[{"header":"Size","options":["XL"]}]}`},
		{name: "without a spec, nothing", values: `{"answers":[]}`,
			errs: []interaction.FieldError{{Field: "answers", Message: "provide an answer for each question, or declined=true"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := interaction.Validate(interaction.Choices, tc.spec, json.RawMessage(tc.values))
			if diff := cmp.Diff(tc.errs, got.Errors); diff != "" {
				t.Fatalf("errors (-want +got):\n%s", diff)
			}
			if string(got.Canonical) != tc.canonical {
				t.Fatalf("canonical %s, want %s", got.Canonical, tc.canonical)
			}
		})
	}
}

func TestCanonicalValuesUndoJSONBOrder(t *testing.T) {
	got := interaction.CanonicalValues(interaction.Choices, json.RawMessage(`{"answers": [{"other": "x", "header": "A", "options": []}, {"header": "B", "options": ["a & b"]}]}`))
	if string(got) != `{"answers":[{"header":"A","options":[],"other":"x"},{"header":"B","options":["a & b"]}]}` {
		t.Fatal(string(got))
	}
	got = interaction.CanonicalValues(interaction.IdentityIntake, json.RawMessage(`{"name": "D", "email": "d@x.io", "phone": "+15550100199"}`))
	if string(got) != `{"name":"D","email":"d@x.io","phone":"+15550100199"}` {
		t.Fatal(string(got))
	}
}

func TestResultTexts(t *testing.T) {
	if got := interaction.SubmittedResult(json.RawMessage(`{"name":"A & B"}`)); got != `{"status":"submitted","values":{"name":"A & B"}}` {
		t.Fatal(got)
	}
	if got := interaction.DeclinedResult(); got != `{"status":"declined","message":"The visitor declined. Continue helping them without this and do not ask again this conversation."}` {
		t.Fatal(got)
	}
	if got := interaction.NoResponseResult(); got != `{"status":"no_response","message":"The visitor did not respond to the card. Continue without it; you may offer again later if it becomes relevant."}` {
		t.Fatal(got)
	}
	if got := interaction.SubmitDeclinedResult(); got != `{"status":"declined","message":"Noted. Continue helping the visitor without this and do not ask again this conversation."}` {
		t.Fatal(got)
	}
	got := interaction.ValidationFailed([]interaction.FieldError{{Field: "email", Message: "must be a valid email address"}, {Field: "name", Message: "this field is required"}})
	if got != "Error: validation failed — email: must be a valid email address; name: this field is required. Re-ask the visitor for the corrected value(s) and submit again." {
		t.Fatal(got)
	}
	conv := interaction.ConversationalResult(interaction.Raise{Kind: interaction.IdentityIntake, Spec: json.RawMessage(`{"fields":[]}`), Reason: "r"})
	if !strings.HasPrefix(conv, `{"mode":"conversational","kind":"identity_intake","spec":{"fields":[]},"reason":"r","instructions":"`) {
		t.Fatal(conv)
	}
	if s := interaction.SubmitSchema([]interaction.Kind{interaction.Choices, interaction.IdentityIntake}); !strings.Contains(s, `"enum":["identity_intake","choices"]`) {
		t.Fatal(s)
	}
}
