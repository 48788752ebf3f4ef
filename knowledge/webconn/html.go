package webconn

import (
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// skipped elements hold no readable text.
var skipped = map[atom.Atom]bool{
	atom.Script: true, atom.Style: true, atom.Noscript: true, atom.Template: true,
	atom.Svg: true, atom.Math: true, atom.Iframe: true, atom.Object: true, atom.Embed: true,
	atom.Canvas: true, atom.Head: true, atom.Select: true, atom.Button: true,
}

// block elements end a paragraph of text.
var block = map[atom.Atom]bool{
	atom.P: true, atom.Div: true, atom.Section: true, atom.Article: true, atom.Header: true,
	atom.Footer: true, atom.Main: true, atom.Aside: true, atom.Nav: true, atom.H1: true,
	atom.H2: true, atom.H3: true, atom.H4: true, atom.H5: true, atom.H6: true, atom.Ul: true,
	atom.Ol: true, atom.Li: true, atom.Table: true, atom.Tr: true, atom.Blockquote: true,
	atom.Pre: true, atom.Hr: true, atom.Form: true, atom.Fieldset: true, atom.Dl: true,
	atom.Dt: true, atom.Dd: true, atom.Figure: true, atom.Figcaption: true, atom.Details: true,
	atom.Summary: true, atom.Address: true, atom.Caption: true, atom.Body: true,
}

// HTMLText parses an HTML document with golang.org/x/net/html (the HTML5 parsing
// algorithm, so broken markup parses as browsers parse it) and returns its <title> and
// its readable text: scripts, styles and other non-text elements are dropped, block
// elements become paragraphs separated by blank lines, and whitespace inside a paragraph
// collapses to single spaces (except inside <pre>).
func HTMLText(doc string) (title, text string) {
	root, err := html.Parse(strings.NewReader(doc))
	if err != nil {
		return "", ""
	}
	w := &textWriter{}
	var walk func(n *html.Node, pre bool)
	walk = func(n *html.Node, pre bool) {
		switch n.Type {
		case html.TextNode:
			w.text(n.Data, pre)
			return
		case html.ElementNode:
			if n.DataAtom == atom.Title && title == "" {
				title = strings.Join(strings.Fields(nodeText(n)), " ")
				return
			}
			if skipped[n.DataAtom] {
				// <title> lives in <head>: look for it before skipping the rest.
				if n.DataAtom == atom.Head {
					for c := n.FirstChild; c != nil; c = c.NextSibling {
						if c.Type == html.ElementNode && c.DataAtom == atom.Title && title == "" {
							title = strings.Join(strings.Fields(nodeText(c)), " ")
						}
					}
				}
				return
			}
			switch {
			case n.DataAtom == atom.Br:
				w.lineBreak()
				return
			case n.DataAtom == atom.Td || n.DataAtom == atom.Th:
				w.space()
			case block[n.DataAtom]:
				w.paragraph()
			}
			pre = pre || n.DataAtom == atom.Pre
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c, pre)
		}
		if n.Type == html.ElementNode && block[n.DataAtom] {
			w.paragraph()
		}
	}
	walk(root, false)
	return title, w.String()
}

func nodeText(n *html.Node) string {
	var b strings.Builder
	var f func(*html.Node)
	f = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			f(c)
		}
	}
	f(n)
	return b.String()
}

// textWriter accumulates paragraphs, collapsing whitespace.
type textWriter struct {
	paras []string
	cur   strings.Builder
	sp    bool // a space is owed before the next word
}

func (w *textWriter) text(s string, pre bool) {
	if pre {
		w.cur.WriteString(s)
		return
	}
	if s == "" {
		return
	}
	if isSpace(s[0]) {
		w.sp = true
	}
	for _, f := range strings.Fields(s) {
		if w.cur.Len() > 0 && w.sp {
			w.cur.WriteByte(' ')
		}
		w.cur.WriteString(f)
		w.sp = true
	}
	w.sp = isSpace(s[len(s)-1])
}

func isSpace(b byte) bool { return b == ' ' || b == '\n' || b == '\t' || b == '\r' || b == '\f' }

func (w *textWriter) space() { w.sp = true }

func (w *textWriter) lineBreak() {
	if w.cur.Len() > 0 {
		w.cur.WriteByte('\n')
		w.sp = false
	}
}

func (w *textWriter) paragraph() {
	if p := strings.TrimSpace(w.cur.String()); p != "" {
		w.paras = append(w.paras, p)
	}
	w.cur.Reset()
	w.sp = false
}

func (w *textWriter) String() string {
	w.paragraph()
	return strings.Join(w.paras, "\n\n")
}
