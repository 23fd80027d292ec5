package experiment

import (
	"math"
	"slices"
)

// Bounds constrains a traffic split. The zero value of every field but
// Versions means "no constraint".
type Bounds struct {
	// Versions lists the versions to split over; Versions[0] is the
	// baseline. Rounding ties go to the earlier version.
	Versions []string
	// Current is the split in force. It anchors MaxIncrement and tells how
	// much an excluded baseline may keep. Nil means there is none.
	Current map[string]int
	// Excluded versions are drained to 0 and never gain traffic.
	Excluded map[string]bool
	// Floor is the least percent of every version not excluded, so that no
	// arm of a bandit starves. It yields to MaxCandidate and MaxIncrement
	// and is lowered to 100/(versions not excluded) when larger.
	Floor int
	// MaxCandidate caps every version but the baseline; 0 means 100.
	MaxCandidate int
	// MaxIncrement bounds how far each version not excluded moves from
	// Current in one step, up or down; 0 means no bound.
	MaxIncrement int
}

// Split turns non-negative weights into integer percents over b.Versions
// that sum to exactly 100. It finds the split closest (in Euclidean
// distance) to 100·w/Σw within the bounds, then rounds by largest
// remainder, ties going to the earlier version when adding a point and the
// later one when removing it, so the result is a pure function of its
// inputs. Weights of versions not in b.Versions are ignored; NaN, infinite
// and negative weights count as 0; when no version not excluded has a
// positive weight the target is an equal split.
//
// Guarantees, strongest first:
//
//  1. the result sums to 100 and every share is in [0, 100];
//  2. an excluded version never gains: it is drained to 0, except that an
//     excluded baseline keeps up to its current share when the versions
//     not excluded cannot take all traffic under MaxCandidate (and when
//     every version is excluded, the baseline takes 100);
//  3. no candidate exceeds MaxCandidate unless guarantee 2 leaves no
//     other way to reach 100;
//  4. no version not excluded moves by more than MaxIncrement, unless
//     draining excluded versions needs more, in which case the bound is
//     widened by the least amount that makes a split possible, or unless
//     it stands above MaxCandidate, in which case it drops to the cap;
//  5. every version not excluded keeps Floor where 1 to 4 allow.
func Split(weights map[string]float64, b Bounds) map[string]int {
	n := len(b.Versions)
	if n == 0 {
		return map[string]int{}
	}
	x := splitIndexed(weightsOf(weights, b.Versions), boundsOf(b))
	out := make(map[string]int, n)
	for i, v := range b.Versions {
		out[v] = x[i]
	}
	return out
}

// box is Bounds by version index: the form the engine works in.
type box struct {
	current  []int // nil: none
	excluded []bool
	floor    int
	maxCand  int
	maxInc   int
}

func boundsOf(b Bounds) box {
	n := len(b.Versions)
	bx := box{excluded: make([]bool, n), floor: b.Floor, maxCand: b.MaxCandidate, maxInc: b.MaxIncrement}
	if b.Current != nil {
		bx.current = make([]int, n)
	}
	for i, v := range b.Versions {
		bx.excluded[i] = b.Excluded[v]
		if b.Current != nil {
			bx.current[i] = b.Current[v]
		}
	}
	return bx
}

func weightsOf(w map[string]float64, versions []string) []float64 {
	out := make([]float64, len(versions))
	for i, v := range versions {
		out[i] = w[v]
	}
	return out
}

// splitIndexed is Split by version index.
func splitIndexed(w []float64, bx box) []int {
	n := len(w)
	alive := 0
	for i := range n {
		if !bx.excluded[i] {
			alive++
		}
	}
	if alive == 0 {
		out := make([]int, n)
		out[0] = 100
		return out
	}
	target := targets(w, bx.excluded, alive)
	lo, hi := feasibleBox(bx, alive)
	return ProjectSplit(target, lo, hi)
}

// ProjectSplit turns target percents into integer percents in [lo, hi]
// summing to 100: the closest point of that box (see project), rounded by
// largest remainder. Σlo ≤ 100 ≤ Σhi must hold. The simulator's iter8-v1
// policy caps its steps with it too.
func ProjectSplit(target []float64, lo, hi []int) []int {
	return roundWithin(project(target, lo, hi), lo, hi)
}

// targets normalises the weights of the versions not excluded to percents.
func targets(w []float64, excluded []bool, alive int) []float64 {
	t := make([]float64, len(w))
	total := 0.0
	for i, v := range w {
		if !excluded[i] && v > 0 && !math.IsInf(v, 0) {
			t[i] = v
			total += v
		}
	}
	for i := range t {
		switch {
		case excluded[i]:
			t[i] = 0
		case total == 0:
			t[i] = 100 / float64(alive)
		default:
			t[i] *= 100 / total
		}
	}
	return t
}

// feasibleBox returns per-version integer bounds with Σlo ≤ 100 ≤ Σhi,
// relaxing the constraints in the order Split documents.
func feasibleBox(bx box, alive int) (lo, hi []int) {
	n := len(bx.excluded)
	floor := min(max(bx.floor, 0), 100/alive)
	maxCand := bx.maxCand
	if maxCand <= 0 || maxCand > 100 {
		maxCand = 100
	}
	inc := bx.maxInc
	if inc <= 0 || bx.current == nil {
		inc = 100
	}
	// build returns the bounds under increment bound inc, floor f, the
	// share an excluded baseline may keep (all of it when forced), and
	// candidate cap capC.
	build := func(inc, f, keeps int, forced bool, capC int) (lo, hi []int) {
		lo, hi = make([]int, n), make([]int, n)
		for i := range n {
			if bx.excluded[i] {
				if i == 0 {
					hi[i] = keeps
					if forced {
						lo[i] = keeps
					}
				}
				continue
			}
			cap := 100
			if i > 0 {
				cap = capC
			}
			l, h := f, cap
			if bx.current != nil {
				l = max(l, bx.current[i]-inc)
				h = min(h, bx.current[i]+inc)
			}
			hi[i] = max(h, 0)
			lo[i] = min(l, hi[i])
		}
		return lo, hi
	}
	feasible := func(lo, hi []int) bool {
		sl, sh := 0, 0
		for i := range lo {
			sl += lo[i]
			sh += hi[i]
		}
		return sl <= 100 && sh >= 100
	}
	keeps := 100
	if bx.current != nil {
		keeps = bx.current[0]
	}
	// Constraints give way in order: the floor (later steps restore it),
	// then the increment bound, then an excluded baseline's drain, and
	// last the caps, with the baseline then keeping all it has so that
	// candidates exceed their caps by no more than they must. Within each
	// level the increment bound widens only as far as needed.
	levels := []struct {
		keeps  int
		forced bool
		cap    int
	}{{0, false, maxCand}, {keeps, false, maxCand}, {keeps, true, 100}}
	for _, lv := range levels {
		for k := inc; k <= 100; k++ {
			for f := floor; f >= 0; f-- {
				if lo, hi = build(k, f, lv.keeps, lv.forced, lv.cap); feasible(lo, hi) {
					return lo, hi
				}
			}
		}
	}
	return lo, hi // unreachable: the last level at k = 100, f = 0 is feasible
}

// project returns the point of {x : lo ≤ x ≤ hi, Σx = 100} closest to t:
// x = clamp(t + μ) for the μ that makes the sum 100, found by bisection
// (the sum is non-decreasing in μ). A fixed iteration count keeps it
// deterministic.
func project(t []float64, lo, hi []int) []float64 {
	x := make([]float64, len(t))
	sum := func(mu float64) float64 {
		s := 0.0
		for i := range t {
			x[i] = math.Min(math.Max(t[i]+mu, float64(lo[i])), float64(hi[i]))
			s += x[i]
		}
		return s
	}
	a, b := -200.0, 200.0
	for range 100 {
		m := (a + b) / 2
		if sum(m) < 100 {
			a = m
		} else {
			b = m
		}
	}
	sum(b)
	return x
}

// roundWithin rounds x to integers in [lo, hi] summing to 100 by largest
// remainder.
func roundWithin(x []float64, lo, hi []int) []int {
	n := len(x)
	out := make([]int, n)
	frac := make([]float64, n)
	total := 0
	for i, v := range x {
		v = math.Round(v*1e9) / 1e9 // bisection noise must not decide ties
		f := math.Floor(v)
		out[i] = min(max(int(f), lo[i]), hi[i])
		frac[i] = v - f
		total += out[i]
	}
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	if total < 100 {
		slices.SortStableFunc(order, func(a, b int) int { return cmpFloatDesc(frac[a], frac[b]) })
		for total < 100 {
			moved := false
			for _, i := range order {
				if total < 100 && out[i] < hi[i] {
					out[i]++
					total++
					moved = true
				}
			}
			if !moved {
				break // unreachable: feasibleBox guarantees Σhi ≥ 100
			}
		}
	}
	if total > 100 {
		slices.Reverse(order)
		slices.SortStableFunc(order, func(a, b int) int { return cmpFloatDesc(frac[b], frac[a]) })
		for total > 100 {
			moved := false
			for _, i := range order {
				if total > 100 && out[i] > lo[i] {
					out[i]--
					total--
					moved = true
				}
			}
			if !moved {
				break // unreachable: feasibleBox guarantees Σlo ≤ 100
			}
		}
	}
	return out
}

func cmpFloatDesc(a, b float64) int {
	switch {
	case a > b:
		return -1
	case a < b:
		return 1
	}
	return 0
}
