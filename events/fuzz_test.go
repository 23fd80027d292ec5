package events

import (
	"encoding/json"
	"math"
	"net/http"
	"testing"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/google/go-cmp/cmp"
)

// The fuzz targets feed arbitrary data to each inbound type's decoder and
// check, beyond the absence of panics, that:
//   - a refusal is a Permanent 400 or 413 with field errors;
//   - whatever Go accepts, the type's JSON Schema accepts too, so that the
//     schema never refuses an event iter8 would take;
//   - accepted data survives a marshal and decode unchanged.
// Seeds are under testdata/fuzz/<FuzzName>/: the data of every example and
// bad example.

func fuzzDecode[T any](f *testing.F, typ string, decode func(e event.Event) (T, error)) {
	schemas(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := decode(rawEvent(typ, "shop/checkout", "application/json", string(data)))
		if err != nil {
			if s := StatusOf(err); !IsPermanent(err) || (s != http.StatusBadRequest && s != http.StatusRequestEntityTooLarge) {
				t.Fatalf("refusal with status %d, permanent %v: %v", s, IsPermanent(err), err)
			}
			if StatusOf(err) == http.StatusBadRequest && FieldErrorsOf(err) == nil {
				t.Fatalf("400 without field errors: %v", err)
			}
			return
		}
		if err := schemaValidate(t, typ, data); err != nil {
			t.Fatalf("Go accepted what the JSON Schema refuses:\n%s\n%v", data, err)
		}
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("marshal accepted data: %v", err)
		}
		back, err := decode(rawEvent(typ, "shop/checkout", "application/json", string(b)))
		if err != nil {
			t.Fatalf("decoding re-marshalled data %s: %v", b, err)
		}
		if diff := cmp.Diff(v, back); diff != "" {
			t.Fatalf("round trip (-first +second):\n%s", diff)
		}
	})
}

func FuzzDecodeMetricsObserved(f *testing.F) {
	fuzzDecode(f, TypeMetricsObserved, DecodeMetricsObserved)
}

func FuzzDecodeControl(f *testing.F) {
	fuzzDecode(f, TypeExperimentControl, DecodeControl)
}

func FuzzDecodeExperimentCollect(f *testing.F) {
	fuzzDecode(f, TypeExperimentCollect, DecodeExperimentCollect)
}

func FuzzDecodeExperimentStart(f *testing.F) {
	fuzzDecode(f, TypeExperimentStart, DecodeExperimentStart)
}

// FuzzValidateObservation builds observations from arbitrary numbers,
// including NaN and infinities that JSON cannot carry, and checks that
// whatever Validate accepts holds the invariants the statistics rely on.
func FuzzValidateObservation(f *testing.F) {
	f.Add(uint8(0b0000011), int64(3), int64(10), int64(0), 0.0, 0.0, 0.0, 0.0, int64(0), int64(0), int64(0))
	f.Add(uint8(0b0011100), int64(0), int64(0), int64(4), 10.0, 30.0, 0.0, 0.0, int64(0), int64(0), int64(0))
	f.Add(uint8(0b1100000), int64(0), int64(0), int64(0), 0.0, 0.0, 1.0, 2.0, int64(1), int64(2), int64(3))
	f.Add(uint8(0b1111111), int64(-1), int64(math.MaxInt64), int64(math.MinInt64), math.NaN(), math.Inf(1), math.Inf(-1), math.Copysign(0, -1), int64(-1), int64(0), int64(1))
	f.Fuzz(func(t *testing.T, set uint8, s, tr, c int64, sum, ss, b0, b1 float64, c0, c1, c2 int64) {
		var o Observation
		if set&1 != 0 {
			o.Successes = &s
		}
		if set&2 != 0 {
			o.Trials = &tr
		}
		if set&4 != 0 {
			o.Count = &c
		}
		if set&8 != 0 {
			o.Sum = &sum
		}
		if set&16 != 0 {
			o.SumSquares = &ss
		}
		if set&32 != 0 {
			o.Bounds = []float64{b0, b1}
		}
		if set&64 != 0 {
			o.Counts = []int64{c0, c1, c2}
		}
		typ, typeErr := o.Type()
		err := o.Validate("")
		if again := o.Validate(""); cmp.Diff(err, again, cmp.Comparer(func(a, b error) bool { return a.Error() == b.Error() })) != "" {
			t.Fatalf("Validate is not deterministic: %v, then %v", err, again)
		}
		if err != nil {
			if FieldErrorsOf(err) == nil {
				t.Fatalf("error without field errors: %v", err)
			}
			return
		}
		if typeErr != nil {
			t.Fatalf("Validate accepted what Type refused: %v", typeErr)
		}
		switch typ {
		case MetricRatio:
			if !(0 <= s && s <= tr && tr <= MaxCount) {
				t.Fatalf("accepted ratio %d/%d", s, tr)
			}
		case MetricMean:
			if c < 0 || c > MaxCount || math.IsNaN(sum) || math.IsInf(sum, 0) || !(ss >= 0) || math.IsInf(ss, 0) {
				t.Fatalf("accepted mean count %d sum %v sumSquares %v", c, sum, ss)
			}
			if c > 0 {
				n := float64(c)
				if v := ss/n - (sum/n)*(sum/n); v < -1e-6*math.Max(1, ss/n) {
					t.Fatalf("accepted a negative variance %v", v)
				}
			}
		case MetricQuantile:
			if !(b0 < b1) || math.IsInf(b0, 0) || math.IsInf(b1, 0) || c0 < 0 || c1 < 0 || c2 < 0 {
				t.Fatalf("accepted histogram %v %v", o.Bounds, o.Counts)
			}
		default:
			t.Fatalf("accepted with type %q", typ)
		}
	})
}
