package specfile

import "strings"

// suggest returns the candidate a misspelt word most likely meant, or ""
// when none is close: the same word up to case, '-' and '_'
// (memory_mib → memoryMiB), else the nearest by edit distance within a
// third of its length (formts → formats, qcow → qcow2).
func suggest(word string, candidates []string) string {
	w := norm(word)
	if len(w) > 64 {
		return ""
	}
	best, bestD := "", max(1, len(w)/3)+1
	for _, c := range candidates {
		nc := norm(c)
		if nc == w {
			return c
		}
		if d := distance(w, nc); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

var separators = strings.NewReplacer("-", "", "_", "")

// norm folds case and drops '-' and '_'.
func norm(s string) string { return separators.Replace(strings.ToLower(s)) }

// distance is the edit distance of a and b counting a swap of two
// neighbours as one edit (nmae → name), over bytes (keys are ASCII).
func distance(a, b string) int {
	rows := [3][]int{make([]int, len(b)+1), make([]int, len(b)+1), make([]int, len(b)+1)}
	for j := range rows[1] {
		rows[1][j] = j
	}
	for i := 1; i <= len(a); i++ {
		pp, prev, cur := rows[0], rows[1], rows[2]
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], pp[j-2]+1)
			}
		}
		rows = [3][]int{prev, cur, pp}
	}
	return rows[1][len(b)]
}
