package sqlstore

import (
	"database/sql/driver"
	"fmt"
	"regexp"
	"strings"

	"modernc.org/sqlite"
)

// SQLite's lower() folds ASCII only; gh_fold applies the same Unicode case
// folding as the Go side (fold), so "Über" matches "über" on both dialects.
func init() {
	sqlite.MustRegisterDeterministicScalarFunction("gh_fold", 1, func(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
		switch v := args[0].(type) {
		case string:
			return fold(v), nil
		case []byte:
			return fold(string(v)), nil
		}
		return args[0], nil
	})
}

// lower folds a text expression for case-insensitive comparison.
func (db *DB) lower(x string) string {
	if db.dialect == Postgres {
		return "lower(" + x + ")"
	}
	return "gh_fold(" + x + ")"
}

// safeName guards the only identifiers that are spliced into SQL text: JSON
// keys taken from Gatehouse's own schema definitions, never from requests.
var safeName = regexp.MustCompile(`^[A-Za-z0-9$:._-]+$`)

// jsonText returns an expression yielding the text (or, on SQLite, the
// native scalar) at keys inside the JSON column src.
func (db *DB) jsonText(src string, keys ...string) string {
	for _, k := range keys {
		if !safeName.MatchString(k) {
			panic(fmt.Sprintf("sqlstore: unsafe JSON key %q", k)) // a schema definition bug, not input
		}
	}
	if db.dialect == Postgres {
		return fmt.Sprintf("(%s #>> '{%s}')", src, strings.Join(keys, ","))
	}
	return fmt.Sprintf(`json_extract(%s, '$."%s"')`, src, strings.Join(keys, `"."`))
}

// jsonElements returns a FROM item iterating the array at key of src, with
// an alias whose elements are read with elemText.
func (db *DB) jsonElements(src, key, alias string) string {
	if !safeName.MatchString(key) {
		panic(fmt.Sprintf("sqlstore: unsafe JSON key %q", key))
	}
	if db.dialect == Postgres {
		return fmt.Sprintf(`jsonb_array_elements(CASE WHEN jsonb_typeof(%s -> '%s') = 'array' THEN %s -> '%s' ELSE '[]'::jsonb END) AS %s(v)`, src, key, src, key, alias)
	}
	return fmt.Sprintf(`json_each(%s, '$."%s"') AS %s`, src, key, alias)
}

// elemText reads sub from an element produced by jsonElements.
func (db *DB) elemText(alias, sub string) string {
	if db.dialect == Postgres {
		return db.jsonText(alias+".v", sub)
	}
	return db.jsonText(alias+".value", sub)
}

// jsonTrue is the value a JSON boolean true has after jsonText/elemText.
func (db *DB) jsonBool(b bool) string {
	switch {
	case db.dialect == Postgres && b:
		return "'true'"
	case db.dialect == Postgres:
		return "'false'"
	case b:
		return "1"
	}
	return "0"
}

// contains is a case-exact substring test; LIKE is case-insensitive on SQLite.
func (db *DB) contains(x, p string) string {
	if db.dialect == Postgres {
		return fmt.Sprintf("strpos(%s, %s) > 0", x, p)
	}
	return fmt.Sprintf("instr(%s, %s) > 0", x, p)
}

// suffix is a case-exact ends-with test of n characters.
func (db *DB) suffix(x, p string, n int) string {
	if db.dialect == Postgres {
		return fmt.Sprintf("right(%s, %d) = %s", x, n, p)
	}
	return fmt.Sprintf("substr(%s, %d) = %s", x, -n, p)
}

// textParam casts a parameter to text where PostgreSQL cannot infer it.
func (db *DB) textParam(p string) string {
	if db.dialect == Postgres {
		return p + "::text"
	}
	return p
}
