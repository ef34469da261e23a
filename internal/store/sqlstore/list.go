package sqlstore

import (
	"context"
	"database/sql"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/directory/filter"
	"github.com/gatehouse-id/gatehouse/internal/directory/schema"
	"github.com/gatehouse-id/gatehouse/internal/fault"
)

// column maps an attribute path to an indexed column.
type column struct {
	expr      string
	caseExact bool // compare as stored
	folded    bool // the column holds fold(value): compare with fold(v)
	boolean   bool
	time      bool // Unix microseconds
}

// table describes a resource table for listing and filtering.
type table struct {
	name    string
	cols    string
	rt      *schema.ResourceType
	columns map[string]column
}

// list runs a paged query; scan is called once per row in order.
func (db *DB) list(ctx context.Context, t table, directoryID string, q directory.Query, scan func(*sql.Rows) error, total *int, next *string) error {
	c := &compiler{db: db, t: t, args: []any{directoryID}}
	where := t.name + ".directory_id = $1"
	if q.Filter != nil {
		cond, err := c.expr(q.Filter)
		if err != nil {
			return err
		}
		where += " AND " + cond
	}
	if err := db.r.QueryRowContext(ctx, `SELECT count(*) FROM `+t.name+` WHERE `+where, c.args...).Scan(total); err != nil {
		return err
	}
	if q.Count <= 0 {
		return nil
	}
	order := t.name + ".id"
	if q.Sort.By.Attr != nil {
		key, err := c.sortKey(q.Sort.By)
		if err != nil {
			return err
		}
		dir := "ASC"
		if q.Sort.Descending {
			dir = "DESC"
		}
		// Resources without a value sort last ascending and first descending
		// (RFC 7644 §3.4.2.3); id keeps the order total and stable.
		order = fmt.Sprintf("(%s IS NULL) %s, %s %s, %s.id", key, dir, key, dir, t.name)
	}
	offset := max(q.StartIndex-1, 0)
	if q.UseCursor {
		var err error
		if offset, err = decodeCursor(q.Cursor); err != nil {
			return err
		}
	}
	limit := c.param(q.Count + 1) // one extra row tells whether a next page exists
	off := c.param(offset)
	rows, err := db.r.QueryContext(ctx, `SELECT `+prefixCols(t)+` FROM `+t.name+` WHERE `+where+` ORDER BY `+order+` LIMIT `+limit+` OFFSET `+off, c.args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		if n == q.Count {
			*next = encodeCursor(offset + n)
			break
		}
		if err := scan(rows); err != nil {
			return err
		}
		n++
	}
	return rows.Err()
}

func prefixCols(t table) string {
	cols := strings.Split(t.cols, ", ")
	for i, c := range cols {
		cols[i] = t.name + "." + c
	}
	return strings.Join(cols, ", ")
}

// Cursors are opaque to clients; they encode the position of the next row.
// Offsets keep every sort order pageable with one mechanism.
func encodeCursor(offset int) string {
	return base64.RawURLEncoding.EncodeToString([]byte("o:" + strconv.Itoa(offset)))
}

func decodeCursor(s string) (int, error) {
	if s == "" {
		return 0, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil && strings.HasPrefix(string(b), "o:") {
		if n, err := strconv.Atoi(string(b[2:])); err == nil && n >= 0 {
			return n, nil
		}
	}
	return 0, fault.New(fault.InvalidValue, "cursor", "cursor %q is not a cursor this server issued", s)
}

// compiler turns a filter AST into a SQL condition with bound parameters.
type compiler struct {
	db   *DB
	t    table
	args []any
	n    int // alias counter
}

func (c *compiler) param(v any) string {
	c.args = append(c.args, v)
	return "$" + strconv.Itoa(len(c.args))
}

func (c *compiler) alias() string {
	c.n++
	return "e" + strconv.Itoa(c.n)
}

func (c *compiler) expr(e filter.Expr) (string, error) {
	switch e := e.(type) {
	case filter.And:
		return c.binary(e.Left, e.Right, "AND")
	case filter.Or:
		return c.binary(e.Left, e.Right, "OR")
	case filter.Not:
		x, err := c.expr(e.X)
		if err != nil {
			return "", err
		}
		return "(NOT " + x + ")", nil
	case filter.Compare:
		return c.compare(e)
	case filter.ValuePath:
		return c.valuePath(e)
	}
	return "", fault.New(fault.InvalidFilter, "", "unsupported filter expression %T", e)
}

func (c *compiler) binary(l, r filter.Expr, op string) (string, error) {
	a, err := c.expr(l)
	if err != nil {
		return "", err
	}
	b, err := c.expr(r)
	if err != nil {
		return "", err
	}
	return "(" + a + " " + op + " " + b + ")", nil
}

// compare compiles one attribute expression. Every result is two-valued
// ("x IS NOT NULL AND x = $n" rather than a bare comparison that is NULL for
// a missing value) so that NOT behaves as SCIM expects; the form keeps the
// comparison sargable, where COALESCE(x = $n, FALSE) would hide it from the
// index.
func (c *compiler) compare(e filter.Compare) (string, error) {
	p := e.Path
	key := p.String()
	if p.IsCommon() || !p.IsExtension() {
		if col, ok := c.t.columns[key]; ok {
			return c.scalar(col.expr, p.Target(), e, col)
		}
	}
	switch {
	case p.IsCommon() && p.Attr == schema.SchemasAttr:
		return c.schemas(e)
	case p.IsCommon():
		return "", fault.New(fault.InvalidFilter, key, "filtering on %s is not supported", key)
	case c.t.rt == schema.UserResource && p.Attr.Name == "groups":
		return c.edges(e, "member_id", "group_id")
	case c.t.rt == schema.GroupResource && p.Attr.Name == "members":
		return c.edges(e, "group_id", "member_id")
	case c.t.rt == schema.UserResource && p.Attr.Name == "emails" && p.Sub != nil && p.Sub.Name == "value" && e.Op == filter.Eq:
		if s, ok := e.Value.(string); ok {
			// The indexed path for the second most common matching attribute.
			return fmt.Sprintf("EXISTS (SELECT 1 FROM user_emails ue WHERE ue.user_id = users.id AND ue.directory_id = $1 AND ue.value_ci = %s)", c.param(fold(s))), nil
		}
	}
	if p.Attr.MultiValued {
		// "ne" and "eq null" on a multi-valued attribute mean no value is
		// equal / present (filter.Match's semantics), not "some value differs".
		switch {
		case e.Op == filter.Ne && e.Value != nil:
			eq, err := c.compare(filter.Compare{Path: e.Path, Op: filter.Eq, Value: e.Value})
			return "(NOT " + eq + ")", err
		case e.Op == filter.Eq && e.Value == nil:
			pr, err := c.compare(filter.Compare{Path: e.Path, Op: filter.Pr})
			return "(NOT " + pr + ")", err
		case e.Op == filter.Ne:
			return c.compare(filter.Compare{Path: e.Path, Op: filter.Pr})
		}
		sub := p.Sub
		if sub == nil {
			if sub = p.Attr.Sub("value"); sub == nil {
				return "", fault.New(fault.InvalidFilter, key, "%s has no value sub-attribute; name one, e.g. %s.type", key, key)
			}
		}
		a := c.alias()
		cond, err := c.scalar(c.db.elemText(a, sub.Name), sub, e, column{caseExact: sub.CaseExact})
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("EXISTS (SELECT 1 FROM %s WHERE %s)", c.db.jsonElements(c.t.name+".attrs", p.Attr.Name, a), cond), nil
	}
	keys := c.jsonKeys(p)
	if p.Attr.Type == schema.Complex && p.Sub == nil {
		if e.Op != filter.Pr {
			return "", fault.New(fault.InvalidFilter, key, "%s is complex; compare one of its sub-attributes, e.g. %s.%s", key, key, p.Attr.SubAttributes[0].Name)
		}
		return "(" + c.db.jsonText(c.t.name+".attrs", keys...) + " IS NOT NULL)", nil
	}
	return c.scalar(c.db.jsonText(c.t.name+".attrs", keys...), p.Target(), e, column{caseExact: p.Target().CaseExact})
}

func (c *compiler) jsonKeys(p schema.Path) []string {
	var keys []string
	if p.IsExtension() {
		keys = append(keys, p.Schema.ID)
	}
	keys = append(keys, p.Attr.Name)
	if p.Sub != nil {
		keys = append(keys, p.Sub.Name)
	}
	return keys
}

// scalar compares the SQL expression x holding attribute a's value.
func (c *compiler) scalar(x string, a *schema.Attribute, e filter.Compare, col column) (string, error) {
	if e.Op == filter.Pr {
		if a.Type == schema.Boolean || col.time {
			return "(" + x + " IS NOT NULL)", nil
		}
		return "(" + x + " IS NOT NULL AND " + x + " <> '')", nil
	}
	if e.Value == nil {
		switch e.Op {
		case filter.Eq:
			return "(" + x + " IS NULL)", nil
		case filter.Ne:
			return "(" + x + " IS NOT NULL)", nil
		}
		return "", fault.New(fault.InvalidFilter, e.Path.String(), "null can only be compared with eq or ne")
	}
	switch v := e.Value.(type) {
	case bool:
		lit := c.db.jsonBool(v)
		if col.boolean {
			lit = c.param(v)
		}
		switch e.Op {
		case filter.Eq:
			return known(x, x+" = "+lit), nil
		case filter.Ne:
			return "(" + x + " IS NULL OR " + x + " <> " + lit + ")", nil
		}
	case time.Time:
		if !col.time {
			return "", fault.New(fault.InvalidFilter, e.Path.String(), "%s is not a dateTime attribute", e.Path.String())
		}
		return c.ordered(x, c.param(micros(v)), e.Op)
	case float64:
		return "", fault.New(fault.InvalidFilter, e.Path.String(), "%s holds text; quote the value", e.Path.String())
	case string:
		if col.time {
			return "", fault.New(fault.InvalidFilter, e.Path.String(), "%s is a dateTime; compare it with a dateTime value", e.Path.String())
		}
		exact := col.caseExact || (a.CaseExact && !col.folded)
		if !exact {
			v = fold(v)
			if !col.folded {
				x = c.db.lower(x)
			}
		}
		switch e.Op {
		case filter.Co, filter.Sw, filter.Ew:
			return c.like(x, v, e.Op, exact), nil
		}
		return c.ordered(x, c.param(v), e.Op)
	}
	return "", fault.New(fault.InvalidFilter, e.Path.String(), "operator %s cannot compare %s with %v", e.Op, e.Path.String(), e.Value)
}

// known makes a comparison on x two-valued: false, not NULL, when x is
// missing. Unlike COALESCE it leaves "x = $n" visible to the index.
func known(x, cond string) string { return "(" + x + " IS NOT NULL AND " + cond + ")" }

func (c *compiler) ordered(x, p string, op filter.Op) (string, error) {
	sqlOp := map[filter.Op]string{filter.Eq: "=", filter.Ne: "<>", filter.Gt: ">", filter.Ge: ">=", filter.Lt: "<", filter.Le: "<="}[op]
	if sqlOp == "" {
		return "", fault.New(fault.InvalidFilter, "", "operator %s is not supported here", op)
	}
	if op == filter.Ne {
		return "(" + x + " IS NULL OR " + x + " <> " + p + ")", nil
	}
	return known(x, x+" "+sqlOp+" "+p), nil
}

// like builds co/sw/ew. Folded comparisons use LIKE with escaping; exact ones
// avoid LIKE because SQLite's LIKE ignores ASCII case.
func (c *compiler) like(x, v string, op filter.Op, exact bool) string {
	if !exact {
		esc := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(v)
		switch op {
		case filter.Co:
			esc = "%" + esc + "%"
		case filter.Sw:
			esc += "%"
		case filter.Ew:
			esc = "%" + esc
		}
		return known(x, x+" LIKE "+c.param(esc)+` ESCAPE '\'`)
	}
	p := c.db.textParam(c.param(v))
	n := utf8.RuneCountInString(v)
	switch op {
	case filter.Co:
		return known(x, c.db.contains(x, p))
	case filter.Sw:
		return known(x, fmt.Sprintf("substr(%s, 1, %d) = %s", x, n, p))
	}
	return known(x, c.db.suffix(x, p, n))
}

// valuePath compiles attr[filter]: one element must satisfy the inner filter.
func (c *compiler) valuePath(e filter.ValuePath) (string, error) {
	p := e.Attr
	if c.t.rt == schema.GroupResource && p.Attr.Name == "members" || c.t.rt == schema.UserResource && p.Attr.Name == "groups" {
		return "", fault.New(fault.InvalidFilter, p.String(), "value filters on %s are not supported; use %s.value eq \"id\"", p.String(), p.String())
	}
	a := c.alias()
	inner, err := c.element(e.Filter, a)
	if err != nil {
		return "", err
	}
	src := c.t.name + ".attrs"
	if p.IsExtension() {
		return "", fault.New(fault.InvalidFilter, p.String(), "value filters on extension attributes are not supported")
	}
	return fmt.Sprintf("EXISTS (SELECT 1 FROM %s WHERE %s)", c.db.jsonElements(src, p.Attr.Name, a), inner), nil
}

// element compiles a filter over one array element bound to alias a.
func (c *compiler) element(e filter.Expr, a string) (string, error) {
	switch e := e.(type) {
	case filter.And, filter.Or:
		var l, r filter.Expr
		op := "AND"
		if x, ok := e.(filter.And); ok {
			l, r = x.Left, x.Right
		} else {
			x := e.(filter.Or)
			l, r, op = x.Left, x.Right, "OR"
		}
		ls, err := c.element(l, a)
		if err != nil {
			return "", err
		}
		rs, err := c.element(r, a)
		if err != nil {
			return "", err
		}
		return "(" + ls + " " + op + " " + rs + ")", nil
	case filter.Not:
		x, err := c.element(e.X, a)
		if err != nil {
			return "", err
		}
		return "(NOT " + x + ")", nil
	case filter.Compare:
		sub := e.Path.Sub
		if sub == nil {
			return "", fault.New(fault.InvalidFilter, e.Path.String(), "a value filter must compare sub-attributes of %s", e.Path.Attr.Name)
		}
		return c.scalar(c.db.elemText(a, sub.Name), sub, e, column{caseExact: sub.CaseExact})
	}
	return "", fault.New(fault.InvalidFilter, "", "nested value filters are not allowed")
}

// schemas matches "schemas eq URN": every resource has its core schema; a
// user has the enterprise schema when it has enterprise attributes.
func (c *compiler) schemas(e filter.Compare) (string, error) {
	v, _ := e.Value.(string)
	if e.Op != filter.Eq && e.Op != filter.Pr {
		return "", fault.New(fault.InvalidFilter, "schemas", "schemas supports only eq and pr")
	}
	if e.Op == filter.Pr || strings.EqualFold(v, c.t.rt.Schema.ID) {
		return "(1 = 1)", nil
	}
	if ext := c.t.rt.Extension(v); ext != nil {
		return "(" + c.db.jsonText(c.t.name+".attrs", ext.ID) + " IS NOT NULL)", nil
	}
	return "(1 = 0)", nil
}

// edges compiles groups.value / members.value (and .type) against the
// membership table: from is this resource's column in group_members.
func (c *compiler) edges(e filter.Compare, from, to string) (string, error) {
	sub := "value"
	if e.Path.Sub != nil {
		sub = e.Path.Sub.Name
	}
	v, ok := e.Value.(string)
	if !ok || e.Op != filter.Eq {
		return "", fault.New(fault.InvalidFilter, e.Path.String(), "%s supports only eq with a string value", e.Path.String())
	}
	col := "gm." + to
	switch sub {
	case "value":
	case "type":
		if from == "group_id" {
			col = "gm.member_type"
			break
		}
		fallthrough
	default:
		return "", fault.New(fault.InvalidFilter, e.Path.String(), "filtering on %s is not supported", e.Path.String())
	}
	return fmt.Sprintf("EXISTS (SELECT 1 FROM group_members gm WHERE gm.%s = %s.id AND gm.directory_id = $1 AND %s = %s)", from, c.t.name, col, c.param(v)), nil
}

// sortKey returns the SQL expression to order by for a sortBy path.
func (c *compiler) sortKey(p schema.Path) (string, error) {
	if col, ok := c.t.columns[p.String()]; ok && (p.IsCommon() || !p.IsExtension()) {
		return c.t.name + "." + col.expr, nil
	}
	if p.IsCommon() || p.Attr.Type == schema.Complex && p.Sub == nil && !p.Attr.MultiValued {
		return "", fault.New(fault.InvalidValue, "sortBy", "cannot sort by %s", p.String())
	}
	if p.Attr.MultiValued {
		if c.t.rt == schema.UserResource && p.Attr.Name == "groups" || c.t.rt == schema.GroupResource && p.Attr.Name == "members" {
			return "", fault.New(fault.InvalidValue, "sortBy", "cannot sort by %s", p.String())
		}
		sub := p.Sub
		if sub == nil {
			sub = p.Attr.Sub("value")
		}
		if sub == nil {
			return "", fault.New(fault.InvalidValue, "sortBy", "cannot sort by %s", p.String())
		}
		// Multi-valued: the primary value, else the first (RFC 7644 §3.4.2.3).
		a := c.alias()
		v := c.db.elemText(a, sub.Name)
		if !sub.CaseExact {
			v = c.db.lower(v)
		}
		return fmt.Sprintf("(SELECT %s FROM %s ORDER BY (%s = %s) DESC LIMIT 1)", v, c.db.jsonElements(c.t.name+".attrs", p.Attr.Name, a), c.db.elemText(a, "primary"), c.db.jsonBool(true)), nil
	}
	x := c.db.jsonText(c.t.name+".attrs", c.jsonKeys(p)...)
	if !p.Target().CaseExact && p.Target().Type == schema.String {
		x = c.db.lower(x)
	}
	return x, nil
}
