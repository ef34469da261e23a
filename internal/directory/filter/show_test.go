package filter

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// show renders an Expr as a filter Parse accepts again, with canonical
// attribute spelling, JSON-quoted values and only the parentheses that
// precedence needs. Tests compare trees through it, and the fuzz targets
// check that Parse(show(e)) gives back e.
func show(e Expr) string { return showIn(e, false) }

func showIn(e Expr, elem bool) string {
	var b strings.Builder
	write(&b, e, elem)
	return b.String()
}

// write builds into one buffer: concatenating per node would make the
// fuzz targets quadratic on long and/or chains.
func write(b *strings.Builder, e Expr, elem bool) {
	switch x := e.(type) {
	case And:
		writeBin(b, x.Left, "and", x.Right, 2, elem)
	case Or:
		writeBin(b, x.Left, "or", x.Right, 1, elem)
	case Not:
		b.WriteString("not (")
		write(b, x.X, elem)
		b.WriteString(")")
	case Compare:
		if elem {
			b.WriteString(x.Path.Sub.Name)
		} else {
			b.WriteString(x.Path.String())
		}
		b.WriteString(" " + string(x.Op))
		if x.Op != Pr {
			b.WriteString(" " + showValue(x.Value))
		}
	case ValuePath:
		b.WriteString(x.Attr.String() + "[")
		write(b, x.Filter, true)
		b.WriteString("]")
	default:
		fmt.Fprintf(b, "<%T>", e)
	}
}

func prec(e Expr) int {
	switch e.(type) {
	case Or:
		return 1
	case And:
		return 2
	}
	return 3
}

// writeBin parenthesises a left operand of lower precedence and a right
// operand of lower or equal precedence: chains associate to the left.
func writeBin(b *strings.Builder, l Expr, op string, r Expr, p int, elem bool) {
	for i, x := range []Expr{l, r} {
		if i == 1 {
			b.WriteString(" " + op + " ")
		}
		paren := prec(x) < p || (i == 1 && prec(x) == p)
		if paren {
			b.WriteString("(")
		}
		write(b, x, elem)
		if paren {
			b.WriteString(")")
		}
	}
}

func showValue(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case bool:
		return strconv.FormatBool(x)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case time.Time:
		return strconv.Quote(x.Format(time.RFC3339Nano))
	case string:
		b, _ := json.Marshal(x)
		return string(b)
	}
	return fmt.Sprintf("<%T>", v)
}
