package mapping

import (
	"strings"
	"unicode"
)

// diacriticSpec lists, for each replacement, the precomposed letters it
// replaces. It holds every letter of Entra's NormalizeDiacritics table
// (ß→ss, æ→ae, ø→oe, ł→l, ı→i …) plus the other precomposed Latin letters
// with diacritics (ĉ, đ, ħ, ŧ, Vietnamese vowels …). Combining marks left over
// after the replacement (ā́ is ā followed by U+0301) are removed.
var diacriticSpec = []string{
	"a", "äàâãåáąăāǟǡǎȁȃȧạảấầẩẫậắằẳẵặǻ",
	"A", "ÄÀÂÃÅÁĄĂĀǞǠǍȀȂȦẠẢẤẦẨẪẬẮẰẲẴẶǺ",
	"ae", "æǣǽ",
	"AE", "ÆǢǼ",
	"c", "çčćĉċ",
	"C", "ÇČĆĈĊ",
	"d", "ďḏđḍ",
	"D", "ĎḎĐḌ",
	"e", "ëèéêęěėēḗḕĕȅȇẹẻẽếềểễệ",
	"E", "ËÈÉÊĘĚĖĒḖḔĔȄȆẸẺẼẾỀỂỄỆ",
	"g", "ğḡĝġģǧ",
	"G", "ĞḠĜĠĢǦ",
	"h", "ĥħ",
	"H", "ĤĦ",
	"i", "ïîìíıīĩĭįǐȉȋịỉ",
	"I", "ÏÎÌÍİĪĨĬĮǏȈȊỊỈ",
	"j", "ĵ",
	"J", "Ĵ",
	"k", "ķǩ",
	"K", "ĶǨ",
	"l", "ľłḹḻĺļŀ",
	"L", "ŁĽḸḺĹĻĿ",
	"n", "ñńňṉņ",
	"N", "ÑŃŇṈŅ",
	"o", "öòőõôóōṓṑȫǭȭȱŏǒȍȏọỏốồổỗộớờởỡợơ",
	"O", "ÖÒŐÕÔÓŌṒṐȪǬȬȰŎǑȌȎỌỎỐỒỔỖỘỚỜỞỠỢƠ",
	"oe", "øœǿ",
	"OE", "ØŒǾ",
	"r", "řṟṝŕŗ",
	"R", "ŘṞṜŔŖ",
	"s", "šśșşŝ",
	"S", "ŠŚȘŞŜ",
	"ss", "ß",
	"SS", "ẞ",
	"t", "ťțṯţŧ",
	"T", "ŤȚṮŢŦ",
	"u", "üùûúůűūǖṻṳũŭųǔǘǚǜȕȗụủứừửữựư",
	"U", "ÜÙÛÚŮŰŪǕṺṲŨŬŲǓǗǙǛȔȖỤỦỨỪỬỮỰƯ",
	"w", "ŵ",
	"W", "Ŵ",
	"y", "ÿýȳŷỳỵỷỹ",
	"Y", "ŸÝȲŶỲỴỶỸ",
	"z", "źžżẕ",
	"Z", "ŹŽŻẔ",
}

var diacritics = func() map[rune]string {
	m := map[rune]string{}
	for i := 0; i < len(diacriticSpec); i += 2 {
		for _, r := range diacriticSpec[i+1] {
			m[r] = diacriticSpec[i]
		}
	}
	return m
}()

// combiningDiacritic reports whether r is a combining diacritical mark (the
// blocks for Latin diacritics, not the vowel signs of other scripts).
func combiningDiacritic(r rune) bool {
	return r >= 0x0300 && r <= 0x036F || r >= 0x1AB0 && r <= 0x1AFF ||
		r >= 0x1DC0 && r <= 0x1DFF || r >= 0x20D0 && r <= 0x20FF || r >= 0xFE20 && r <= 0xFE2F
}

func normalizeDiacritics(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		if rep, ok := diacritics[r]; ok {
			b.WriteString(rep)
			continue
		}
		if combiningDiacritic(r) && unicode.Is(unicode.Mn, r) {
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}
