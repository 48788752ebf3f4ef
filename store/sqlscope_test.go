package store_test

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"unicode"
)

// A small reader of the statements in queries/, enough to find where a query names the
// caller's org: it tokenizes the SQL, skips strings and comments, and looks for the org
// condition in the clauses of the outermost statement, never inside its parentheses. Each
// subquery that reaches a tenant table is then a statement of its own, checked the same
// way (or correlated to a scoped alias). It is not a SQL parser; it is strict where it does
// not understand, so a query it cannot read fails the accounting test rather than passing
// it.

type sqlToken struct {
	text  string // as written; words compare case-insensitively
	depth int    // parentheses around the token
}

func (t sqlToken) is(word string) bool { return strings.EqualFold(t.text, word) }

// tokenize splits sql into words, parameters, literals and punctuation, dropping comments.
func tokenize(sql string) ([]sqlToken, error) {
	var out []sqlToken
	depth := 0
	r := []rune(sql)
	for i := 0; i < len(r); {
		c := r[i]
		switch {
		case unicode.IsSpace(c):
			i++
		case c == '-' && i+1 < len(r) && r[i+1] == '-':
			for i < len(r) && r[i] != '\n' {
				i++
			}
		case c == '/' && i+1 < len(r) && r[i+1] == '*':
			end := strings.Index(string(r[i+2:]), "*/")
			if end < 0 {
				return nil, fmt.Errorf("unterminated comment")
			}
			i += 2 + len([]rune(string(r[i+2:])[:end])) + 2
		case c == '\'' || c == '"':
			j := i + 1
			for ; j < len(r); j++ {
				if r[j] == c {
					if j+1 < len(r) && r[j+1] == c { // doubled quote
						j++
						continue
					}
					break
				}
			}
			if j >= len(r) {
				return nil, fmt.Errorf("unterminated literal")
			}
			out = append(out, sqlToken{string(r[i : j+1]), depth})
			i = j + 1
		case c == '(':
			out = append(out, sqlToken{"(", depth})
			depth++
			i++
		case c == ')':
			depth--
			if depth < 0 {
				return nil, fmt.Errorf("unbalanced parentheses")
			}
			out = append(out, sqlToken{")", depth})
			i++
		case c == '@' || c == '$' || c == '_' || unicode.IsLetter(c) || unicode.IsDigit(c):
			j := i + 1
			for j < len(r) && (r[j] == '_' || r[j] == '$' || unicode.IsLetter(r[j]) || unicode.IsDigit(r[j])) {
				j++
			}
			out = append(out, sqlToken{string(r[i:j]), depth})
			i = j
		case c == ':' && i+1 < len(r) && r[i+1] == ':':
			out = append(out, sqlToken{"::", depth})
			i += 2
		case strings.ContainsRune("<>=!~+-*/%^&|#?", c):
			j := i + 1
			for j < len(r) && strings.ContainsRune("<>=!~+-*/%^&|#?", r[j]) {
				j++
			}
			out = append(out, sqlToken{string(r[i:j]), depth})
			i = j
		default: // , ; . [ ] :
			out = append(out, sqlToken{string(c), depth})
			i++
		}
	}
	if depth != 0 {
		return nil, fmt.Errorf("unbalanced parentheses")
	}
	return out, nil
}

// level returns toks with every token's depth made relative to the first one, after
// dropping a trailing semicolon.
func level(toks []sqlToken) []sqlToken {
	if n := len(toks); n > 0 && toks[n-1].text == ";" {
		toks = toks[:n-1]
	}
	if len(toks) == 0 {
		return nil
	}
	base := toks[0].depth
	out := make([]sqlToken, len(toks))
	for i, t := range toks {
		out[i] = sqlToken{t.text, t.depth - base}
	}
	return out
}

// unwrap strips parentheses that enclose all of toks.
func unwrap(toks []sqlToken) []sqlToken {
	for len(toks) >= 2 && toks[0].text == "(" && toks[len(toks)-1].text == ")" && toks[len(toks)-1].depth == toks[0].depth {
		closes := 0
		for _, t := range toks[:len(toks)-1] {
			if t.text == ")" && t.depth == toks[0].depth {
				closes++
			}
		}
		if closes != 0 {
			break // "(a) AND (b)": the first parenthesis closes early
		}
		toks = level(toks[1 : len(toks)-1])
	}
	return toks
}

// statementScope checks one statement and everything it is made of that the outermost
// statement's rule reaches. It returns "" when the statement is scoped to the caller's
// org, else why not.
func statementScope(toks []sqlToken, tenant map[string]bool) string {
	toks = unwrap(level(toks))
	if len(toks) == 0 {
		return "empty statement"
	}
	if toks[0].is("WITH") {
		ctes, main, err := splitWith(toks)
		if err != nil {
			return err.Error()
		}
		for _, c := range ctes {
			if !touchesAnywhere(c.body, tenant) {
				continue
			}
			if why := statementScope(c.body, tenant); why != "" {
				return "CTE " + c.name + ": " + why
			}
		}
		return statementScope(main, tenant)
	}
	for _, branch := range splitSetOperations(toks) {
		if why := branchScope(unwrap(level(branch)), tenant); why != "" {
			return why
		}
	}
	return ""
}

type cte struct {
	name string
	body []sqlToken
}

// splitWith reads WITH [RECURSIVE] name [(columns)] AS [[NOT] MATERIALIZED] (body), ...
// and returns the bodies and the main statement.
func splitWith(toks []sqlToken) ([]cte, []sqlToken, error) {
	i := 1
	if i < len(toks) && toks[i].is("RECURSIVE") {
		i++
	}
	var out []cte
	for {
		if i >= len(toks) {
			return nil, nil, fmt.Errorf("WITH without a statement")
		}
		name := toks[i].text
		i++
		if i < len(toks) && toks[i].text == "(" { // column list
			i = closing(toks, i) + 1
		}
		if i >= len(toks) || !toks[i].is("AS") {
			return nil, nil, fmt.Errorf("CTE %s: expected AS", name)
		}
		i++
		if i < len(toks) && toks[i].is("NOT") {
			i++
		}
		if i < len(toks) && toks[i].is("MATERIALIZED") {
			i++
		}
		if i >= len(toks) || toks[i].text != "(" {
			return nil, nil, fmt.Errorf("CTE %s: expected its body", name)
		}
		end := closing(toks, i)
		out = append(out, cte{name, toks[i+1 : end]})
		i = end + 1
		if i < len(toks) && toks[i].text == "," {
			i++
			continue
		}
		return out, toks[i:], nil
	}
}

// closing returns the index of the parenthesis that closes the one at open.
func closing(toks []sqlToken, open int) int {
	for j := open + 1; j < len(toks); j++ {
		if toks[j].text == ")" && toks[j].depth == toks[open].depth {
			return j
		}
	}
	return len(toks) - 1
}

// splitSetOperations splits a statement at its top-level UNION, INTERSECT and EXCEPT.
func splitSetOperations(toks []sqlToken) [][]sqlToken {
	var out [][]sqlToken
	start := 0
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		if t.depth == 0 && (t.is("UNION") || t.is("INTERSECT") || t.is("EXCEPT")) {
			out = append(out, toks[start:i])
			if i+1 < len(toks) && (toks[i+1].is("ALL") || toks[i+1].is("DISTINCT")) {
				i++
			}
			start = i + 1
		}
	}
	return append(out, toks[start:])
}

// clauseEnd are the keywords that end a FROM list or a WHERE clause at the top level.
var clauseEnd = []string{"WHERE", "GROUP", "ORDER", "LIMIT", "OFFSET", "RETURNING", "HAVING", "WINDOW", "FOR", "ON", "USING", "SET", "VALUES", "SELECT", "JOIN", "INNER", "LEFT", "RIGHT", "FULL", "CROSS", "NATURAL", "LATERAL", "DO", "CONFLICT"}

func isAny(t sqlToken, words []string) bool {
	return slices.ContainsFunc(words, t.is)
}

// topTables returns the tables a statement reads or writes at its own level: after FROM
// (and the commas of its list), JOIN, INTO, UPDATE and USING.
func topTables(toks []sqlToken) []string {
	var out []string
	inFrom := false
	for i, t := range toks {
		if t.depth != 0 {
			continue
		}
		switch {
		case t.is("FROM") || t.is("JOIN") || t.is("INTO") || t.is("UPDATE") || t.is("USING"):
			inFrom = t.is("FROM")
			if i+1 < len(toks) && toks[i+1].depth == 0 && toks[i+1].text != "(" {
				out = append(out, strings.ToLower(toks[i+1].text))
			}
		case inFrom && t.text == ",":
			if i+1 < len(toks) && toks[i+1].depth == 0 && toks[i+1].text != "(" {
				out = append(out, strings.ToLower(toks[i+1].text))
			}
		case isAny(t, clauseEnd):
			inFrom = false
		}
	}
	return out
}

// tablesAnywhere returns the tables toks read or write at any depth.
func tablesAnywhere(toks []sqlToken) []string {
	toks = level(toks)
	out := topTables(toks)
	for i, t := range toks {
		if t.text == "(" {
			out = append(out, topTables(level(toks[i+1:closing(toks, i)]))...)
		}
	}
	return out
}

// touchesAnywhere reports whether toks read or write a tenant table at any depth.
func touchesAnywhere(toks []sqlToken, tenant map[string]bool) bool {
	return slices.ContainsFunc(tablesAnywhere(toks), func(t string) bool { return tenant[t] })
}

// branchScope checks a statement without WITH or set operations.
func branchScope(toks []sqlToken, tenant map[string]bool) string {
	var touched []string
	for _, tbl := range topTables(toks) {
		if tenant[tbl] {
			touched = append(touched, tbl)
		}
	}
	if len(touched) == 0 {
		return subqueriesScope(toks, tenant)
	}
	if toks[0].is("INSERT") {
		return insertScope(toks, touched, tenant)
	}
	where := whereClause(toks)
	if where == nil {
		return fmt.Sprintf("%s of %v without a WHERE clause of its own", strings.ToUpper(toks[0].text), touched)
	}
	scoped := map[string]bool{}
	for _, c := range conjuncts(where) {
		col, ok := orgConditionColumn(c)
		switch {
		case !ok:
		case len(col) == 3: // alias.org_id
			scoped[strings.ToLower(col[0].text)] = true
		default: // an unqualified org_id is the one of the statement's own tables
			maps.Copy(scoped, topNames(toks))
		}
	}
	if len(scoped) == 0 {
		return fmt.Sprintf("%s of %v whose own WHERE has no org_id = @org_id condition joined by AND", strings.ToUpper(toks[0].text), touched)
	}
	return nestedScope(toks, tenant, scoped)
}

// insertScope checks an INSERT into a tenant table: the new row carries org_id, a SELECT
// that produces the rows is scoped as a statement of its own, and every subquery of the
// VALUES list, the ON CONFLICT update or the RETURNING list that reaches a tenant table is
// scoped itself (a row of the caller's org must not be filled from another org's rows).
func insertScope(toks []sqlToken, touched []string, tenant map[string]bool) string {
	rest := -1
	for i, t := range toks {
		if t.text == "(" && t.depth == 0 {
			for _, c := range toks[i+1 : closing(toks, i)] {
				if c.depth == 1 && c.is("org_id") {
					rest = closing(toks, i) + 1
				}
			}
			break
		}
	}
	if rest < 0 {
		return fmt.Sprintf("INSERT into %v without an org_id column", touched)
	}
	body := toks[rest:]
	if len(body) > 0 && (body[0].is("SELECT") || body[0].is("WITH")) {
		// INSERT ... SELECT: the source ends where ON CONFLICT or RETURNING starts.
		end := len(body)
		for j, t := range body {
			if t.depth == 0 && (t.is("ON") || t.is("RETURNING")) {
				end = j
				break
			}
		}
		if touchesAnywhere(body[:end], tenant) {
			if why := statementScope(body[:end], tenant); why != "" {
				return "INSERT's SELECT: " + why
			}
		}
		body = body[end:]
	}
	return nestedScope(body, tenant, nil)
}

// nestedScope checks the subqueries of a statement whose own tables are scoped, wherever
// they stand (select list, VALUES, SET, WHERE, RETURNING) and however deep in expressions,
// but not those nested in another subquery, which that subquery's own check reaches. Each
// one that reaches a tenant table must be scoped itself, or correlated by x.org_id =
// alias.org_id to one of the statement's scoped aliases.
func nestedScope(toks []sqlToken, tenant map[string]bool, scoped map[string]bool) string {
	for i := 0; i < len(toks); i++ {
		if toks[i].text != "(" || i+1 >= len(toks) || !(toks[i+1].is("SELECT") || toks[i+1].is("WITH")) {
			continue
		}
		end := closing(toks, i)
		sub := level(toks[i+1 : end])
		i = end
		if !touchesAnywhere(sub, tenant) {
			continue
		}
		if why := statementScope(sub, tenant); why != "" && !correlatedScope(sub, scoped) {
			return "subquery: " + why
		}
	}
	return ""
}

// topNames returns the names (tables and aliases) a statement gives the tables of its own
// level.
func topNames(toks []sqlToken) map[string]bool {
	out := map[string]bool{}
	for i, t := range toks {
		if t.depth != 0 || !(t.is("FROM") || t.is("JOIN") || t.is("INTO") || t.is("UPDATE") || t.is("USING") || t.text == ",") {
			continue
		}
		if i+1 >= len(toks) || toks[i+1].depth != 0 || toks[i+1].text == "(" {
			continue
		}
		out[strings.ToLower(toks[i+1].text)] = true
		if a := aliasAfter(toks, i+1); a != "" {
			out[strings.ToLower(a)] = true
		}
	}
	return out
}

// whereClause returns the tokens of the statement's own WHERE clause, or nil.
func whereClause(toks []sqlToken) []sqlToken {
	for i, t := range toks {
		if t.depth == 0 && t.is("WHERE") {
			end := len(toks)
			for j := i + 1; j < len(toks); j++ {
				if toks[j].depth == 0 && isAny(toks[j], []string{"GROUP", "ORDER", "LIMIT", "OFFSET", "RETURNING", "HAVING", "WINDOW", "FOR", "ON", "DO"}) {
					end = j
					break
				}
			}
			return toks[i+1 : end]
		}
	}
	return nil
}

// conjuncts splits a condition at its top-level ANDs (not those of BETWEEN), flattening
// parenthesised conjunctions.
func conjuncts(cond []sqlToken) [][]sqlToken {
	cond = unwrap(level(cond))
	var out [][]sqlToken
	start, between := 0, false
	for i, t := range cond {
		if t.depth != 0 {
			continue
		}
		if t.is("BETWEEN") {
			between = true
		}
		if t.is("AND") {
			if between {
				between = false
				continue
			}
			out = append(out, cond[start:i])
			start = i + 1
		}
	}
	out = append(out, cond[start:])
	if len(out) == 1 {
		return out
	}
	var flat [][]sqlToken
	for _, c := range out {
		flat = append(flat, conjuncts(c)...)
	}
	return flat
}

// orgConditionColumn reports whether a conjunct is exactly [alias.]org_id = @org_id (either
// way round; the parameter may be sqlc.arg(org_id) and may carry a ::uuid cast), and
// returns its [alias.]org_id side.
func orgConditionColumn(c []sqlToken) ([]sqlToken, bool) {
	c = unwrap(level(c))
	for i, t := range c {
		if t.text == "=" && t.depth == 0 {
			l, r := c[:i], c[i+1:]
			switch {
			case isOrgColumn(l) && isOrgParam(r):
				return l, true
			case isOrgParam(l) && isOrgColumn(r):
				return r, true
			}
			return nil, false
		}
	}
	return nil, false
}

func isOrgColumn(toks []sqlToken) bool {
	switch len(toks) {
	case 1:
		return toks[0].is("org_id")
	case 3:
		return toks[1].text == "." && toks[2].is("org_id")
	}
	return false
}

func isOrgParam(toks []sqlToken) bool {
	if n := len(toks); n >= 2 && toks[n-2].text == "::" {
		toks = toks[:n-2]
	}
	var b strings.Builder
	for _, t := range toks {
		b.WriteString(strings.ToLower(t.text))
	}
	switch b.String() {
	case "@org_id", "sqlc.arg(org_id)", "sqlc.arg('org_id')":
		return true
	}
	return false
}

// subqueriesScope checks a statement that reads only CTEs, derived tables or nothing at
// all: every subquery at its own level that reaches a tenant table is a statement of its
// own and must be scoped, by its own org_id = @org_id or, for a subquery correlated to a
// derived table (LEFT JOIN LATERAL, a select-list subquery), by x.org_id = alias.org_id
// where alias names a derived table of this statement that is scoped itself.
func subqueriesScope(toks []sqlToken, tenant map[string]bool) string {
	type subquery struct {
		toks  []sqlToken
		alias string // the name it is joined as, "" when it has none
	}
	var subs []subquery
	for i, t := range toks {
		if t.text != "(" || t.depth != 0 {
			continue
		}
		end := closing(toks, i)
		sub := level(toks[i+1 : end])
		if len(sub) == 0 || !(sub[0].is("SELECT") || sub[0].is("WITH")) || !touchesAnywhere(sub, tenant) {
			continue
		}
		subs = append(subs, subquery{sub, aliasAfter(toks, end)})
	}
	scoped := map[string]bool{}
	why := make([]string, len(subs))
	for changed := true; changed; {
		changed = false
		for i, s := range subs {
			if why[i] == "ok" {
				continue
			}
			why[i] = statementScope(s.toks, tenant)
			if why[i] != "" && correlatedScope(s.toks, scoped) {
				why[i] = ""
			}
			if why[i] == "" {
				why[i] = "ok"
				changed = true
				if s.alias != "" {
					scoped[strings.ToLower(s.alias)] = true
				}
			}
		}
	}
	for _, w := range why {
		if w != "ok" {
			return w
		}
	}
	return ""
}

// aliasAfter returns the alias after the parenthesis at end closes: ") [AS] name".
func aliasAfter(toks []sqlToken, end int) string {
	i := end + 1
	if i < len(toks) && toks[i].is("AS") {
		i++
	}
	if i >= len(toks) || toks[i].depth != 0 || isAny(toks[i], clauseEnd) || isAny(toks[i], []string{"AND", "OR", "ON", "AS", "IS", "NOT"}) {
		return ""
	}
	c := []rune(toks[i].text)[0]
	if c != '_' && !unicode.IsLetter(c) {
		return ""
	}
	return toks[i].text
}

// correlatedScope reports whether a plain SELECT's own WHERE has a top-level conjunct
// x.org_id = a.org_id with a (either side) one of the scoped aliases.
func correlatedScope(toks []sqlToken, scoped map[string]bool) bool {
	if len(toks) == 0 || !toks[0].is("SELECT") {
		return false
	}
	where := whereClause(toks)
	if where == nil {
		return false
	}
	for _, c := range conjuncts(where) {
		c = unwrap(level(c))
		if len(c) != 7 || c[3].text != "=" || !isOrgColumn(c[:3]) || !isOrgColumn(c[4:]) {
			continue
		}
		if scoped[strings.ToLower(c[0].text)] || scoped[strings.ToLower(c[4].text)] {
			return true
		}
	}
	return false
}
