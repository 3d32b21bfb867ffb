package octaviatest

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"unicode"
)

// wsme quotes request values in its error messages the way Python prints
// them: str() for one attribute's value, repr() of the whole decoded body
// for errors it reports on the body argument. These helpers print JSON the
// same way, keeping the document's key order as Python's json module does.

// pyRepr prints a JSON value as Python's repr() prints what json.loads
// returns for it.
func pyRepr(raw []byte) string {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var b strings.Builder
	if err := writePy(&b, dec); err != nil {
		return string(bytes.TrimSpace(raw))
	}
	return b.String()
}

// pyStr prints a JSON value as Python's str() does: strings bare, the rest
// as repr.
func pyStr(raw []byte) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	return pyRepr(raw)
}

func writePy(b *strings.Builder, dec *json.Decoder) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	switch v := tok.(type) {
	case json.Delim:
		b.WriteRune(rune(v))
		first := true
		for dec.More() {
			if !first {
				b.WriteString(", ")
			}
			first = false
			if v == '{' {
				k, err := dec.Token()
				if err != nil {
					return err
				}
				b.WriteString(pyQuote(k.(string)))
				b.WriteString(": ")
			}
			if err := writePy(b, dec); err != nil {
				return err
			}
		}
		if _, err := dec.Token(); err != nil { // the closing delimiter
			return err
		}
		if v == '{' {
			b.WriteByte('}')
		} else {
			b.WriteByte(']')
		}
	case string:
		b.WriteString(pyQuote(v))
	case json.Number:
		b.WriteString(pyNumber(v))
	case bool:
		if v {
			b.WriteString("True")
		} else {
			b.WriteString("False")
		}
	case nil:
		b.WriteString("None")
	}
	return nil
}

// pyNumber prints an int as it is and a float as Python's repr: shortest
// round-trip digits, ".0" for whole numbers, exponent below 1e-4 and from
// 1e16.
func pyNumber(n json.Number) string {
	s := n.String()
	if !strings.ContainsAny(s, ".eE") {
		return s
	}
	f, err := n.Float64()
	if err != nil {
		return s
	}
	if math.IsInf(f, 0) {
		if f > 0 {
			return "inf"
		}
		return "-inf"
	}
	if a := math.Abs(f); a != 0 && (a < 1e-4 || a >= 1e16) {
		// Go prints the exponent as Python does: signed, two digits at least.
		return strconv.FormatFloat(f, 'e', -1, 64)
	}
	out := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.Contains(out, ".") {
		out += ".0"
	}
	return out
}

// pyQuote is Python's repr() of a str: single quotes unless the string
// holds a single quote and no double quote.
func pyQuote(s string) string {
	q := byte('\'')
	if strings.Contains(s, "'") && !strings.Contains(s, `"`) {
		q = '"'
	}
	var b strings.Builder
	b.WriteByte(q)
	for _, r := range s {
		switch {
		case r == rune(q) || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			b.WriteString(`\x` + strconv.FormatInt(int64(r)+0x100, 16)[1:])
		case r > 0x7f && !unicode.IsPrint(r):
			switch {
			case r <= 0xff:
				b.WriteString(`\x` + strconv.FormatInt(int64(r)+0x100, 16)[1:])
			case r <= 0xffff:
				b.WriteString(`\u` + strconv.FormatInt(int64(r)+0x10000, 16)[1:])
			default:
				b.WriteString(`\U` + strconv.FormatInt(int64(r)+0x100000000, 16)[1:])
			}
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte(q)
	return b.String()
}

// pyTypeName is the Python type json.loads makes of a JSON value.
func pyTypeName(raw []byte) string {
	t := bytes.TrimSpace(raw)
	switch {
	case len(t) == 0:
		return "NoneType"
	case t[0] == '{':
		return "dict"
	case t[0] == '[':
		return "list"
	case t[0] == '"':
		return "str"
	case bytes.Equal(t, []byte("true")) || bytes.Equal(t, []byte("false")):
		return "bool"
	case bytes.Equal(t, []byte("null")):
		return "NoneType"
	case bytes.ContainsAny(t, ".eE"):
		return "float"
	}
	return "int"
}
