package widget_test

import (
	"flag"
	"strings"
	"testing"

	"github.com/switchboard-dev/switchboard/llm/llmtest"
	"github.com/switchboard-dev/switchboard/testkit"
	"github.com/switchboard-dev/switchboard/testkit/fixture"
)

var updateScreenshot = flag.Bool("update-screenshot", false, "write the playground screenshot to docs/widget.png")

// screenshotPath is where the README's picture of the playground lives (make screenshot).
const screenshotPath = "../../docs/widget.png"

func TestThePlaygroundAnswersAQuestionWithStreamedTokensAndCitations(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.ingest(map[string]any{
		"id": "hours", "title": "Opening hours", "url": "https://example.com/hours",
		"content": "Our support desk is open 9–5, Monday to Friday. On public holidays the desk is closed.",
	})
	release := make(chan struct{})
	e.gw.Push(llmtest.Text("Our support desk ", "is open **9–5**, ", "Monday to Friday.").HoldAfter(1, release))

	p := newPage(t)
	p.open(e.srv.URL + "/")
	p.find("heading", "Switchboard")
	p.click("button", launcherName)
	p.find("dialog", "Demo assistant") // named after the agent once its session is open
	p.send("When is the support desk open?")

	// The first token is on screen while the rest of the reply is still being written.
	p.waitText(logRole, logName, "Our support desk")
	if strings.Contains(p.text(logRole, logName), "Monday to Friday") {
		t.Fatal("the whole reply showed before the gateway sent it")
	}
	p.find("button", "Stop")
	close(release)

	p.waitText(logRole, logName, "Monday to Friday.")
	p.find("link", "Opening hours (opens in a new tab)")
	p.idle()
	if href := eval[string](p, `document.querySelector('switchboard-chat').shadowRoot.querySelector('.sources a').href`); href != "https://example.com/hours" {
		t.Fatalf("citation link %q", href)
	}
	// The model's Markdown is rendered: the bold text is an element, not asterisks.
	if strong := eval[string](p, `document.querySelector('switchboard-chat').shadowRoot.querySelector('.bot strong')?.textContent ?? ''`); strong != "9–5" {
		t.Fatalf("bold text %q", strong)
	}
	// The model received the question with the knowledge context.
	if body := string(e.gw.Request(0).Body); !strings.Contains(body, "When is the support desk open?") || !strings.Contains(body, "public holidays") {
		t.Fatalf("gateway request %s", body)
	}

}

func TestStopEndsTheTurnAndTheWidgetIsReadyForTheNextMessage(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.gw.Push(llmtest.Text("Let me think", " about that for a long while").StallAfter(1))
	p := newPage(t)
	p.open(e.srv.URL + "/")
	p.chat("Tell me everything.")
	p.waitText(logRole, logName, "Let me think")
	p.click("button", "Stop")
	p.waitText(logRole, logName, "Stopped.")
	p.idle()
	if !p.focused("textbox", "Message") {
		t.Fatal("the message field does not have the focus after Stop")
	}
	testkit.Eventually(t, "the stopped turn's usage row", func() bool {
		return e.count(`SELECT count(*) FROM usage_events WHERE outcome = 'cancelled'`) == 1
	})

	e.gw.Push(llmtest.Text("Here is a short answer."))
	p.send("Just the short version, please.")
	p.waitText(logRole, logName, "Here is a short answer.")
	p.idle()
	if n := e.gw.RequestCount(); n != 2 {
		t.Fatalf("%d gateway requests, want 2", n)
	}
}

func TestGatedToolCallsAreApprovedOrDeniedFromTheCard(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	tool := newToolServer(t, `{"refund":"R-77","status":"created"}`)
	fixture.New(t, e.srv.Pool).Tool(e.demo.OrgID, e.agent, fixture.Tool{
		Name: "create_refund", URL: tool.URL, RequiresApproval: true,
		Parameters: `{"type":"object","properties":{"order":{"type":"string"}}}`,
	})
	p := newPage(t)
	p.open(e.srv.URL + "/")

	// Approve: the tool runs and the reply follows.
	e.gw.Push(
		llmtest.ToolCalls(llmtest.Call{ID: "c1", Name: "create_refund", Arguments: `{"order":"A-1001"}`}),
		llmtest.Text("Refund R-77 is on its way."),
	)
	p.chat("Please refund order A-1001.")
	card := p.text("group", "Approval needed")
	if !strings.Contains(card, "create_refund") || !strings.Contains(card, "A-1001") {
		t.Fatalf("approval card %q", card)
	}
	p.find("button", "Stop") // the turn is parked, not over
	p.click("button", "Approve")
	p.waitText(logRole, logName, "Refund R-77 is on its way.")
	p.waitText("group", "Approval needed", "Approved.")
	p.absent("button", "Approve")
	p.idle()
	if n := tool.calls(); n != 1 {
		t.Fatalf("the tool ran %d times, want 1", n)
	}
	if !strings.Contains(p.text(logRole, logName), "Used create_refund") {
		t.Fatal("the tool call is not shown")
	}

	// Deny: the tool never runs and the model answers without it.
	e.gw.Push(
		llmtest.ToolCalls(llmtest.Call{ID: "c2", Name: "create_refund", Arguments: `{"order":"A-2002"}`}),
		llmtest.Text("All right, I left order A-2002 as it is."),
	)
	p.send("Refund order A-2002 as well.")
	p.waitText("group", "Approval needed", "A-2002")
	p.click("button", "Deny")
	p.waitText(logRole, logName, "I left order A-2002 as it is.")
	p.idle()
	if n := tool.calls(); n != 1 {
		t.Fatalf("the tool ran %d times after a denial, want 1", n)
	}
	if body := string(e.gw.Request(3).Body); !strings.Contains(body, "Denied: the user rejected this action.") {
		t.Fatalf("the model was not told about the denial: %s", body)
	}
}
