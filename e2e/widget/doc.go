// Package widget holds the end-to-end tests of the chat widget (web/widget): a real Chromium,
// driven through the DevTools protocol, loads the page at / or a host page on another
// origin, against a real server, PostgreSQL and the scripted LLM gateway, and is used the
// way a visitor uses it: by role and accessible name, with the mouse and the keyboard.
//
// It has no code of its own and must never be imported.
package widget
