// Command gen writes tests/go_json_vectors/vectors.json: the bytes Go produces for each
// input in inputs.json, for daemonroll's history::go_json and history::patch to match.
//
// Run from the crate root (standard library only, so no module proxy is needed):
//
//	go run tests/go_json_vectors/gen.go > tests/go_json_vectors/vectors.json
//
// kube-controller-manager's getPatch (pkg/controller/daemon/update.go) imports
// k8s.io/apimachinery/pkg/util/json. Its Marshal is encoding/json.Marshal; its Unmarshal
// into map[string]interface{} keeps a number as int64 when strconv.ParseInt accepts the
// literal and otherwise makes it float64 (older releases: UseNumber + convertNumber below;
// current ones: sigs.k8s.io/json UnmarshalCaseSensitivePreserveInts, documented to do
// the same). decodeLikeApimachinery reproduces that with the standard library.
//
// getPatch starts from json.Marshal of a typed *apps.DaemonSet; this generator starts
// from JSON text instead, so it covers the decode/re-encode and patch steps, not the
// pruning of unknown fields or omitempty handling of the typed structs.
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand"
	"os"
	"runtime"
	"strconv"
)

type input struct {
	Name  string          `json:"name"`
	Kind  string          `json:"kind"`
	Input json.RawMessage `json:"input"`
}

type vector struct {
	Name string `json:"name"`
	// "encode": expected = json.Marshal(decode(input)).
	// "patch": expected = getPatch bytes for the DaemonSet JSON in input.
	// "float_bits": expected = json.Marshal(math.Float64frombits(bits)).
	Kind  string          `json:"kind"`
	Input json.RawMessage `json:"input,omitempty"`
	Bits  string          `json:"bits,omitempty"`
	// Expected holds the exact bytes Go produced (always valid UTF-8 here).
	Expected string `json:"expected"`
	// Float64Only is what plain encoding/json (every number a float64) would have
	// produced, recorded only where it differs, to document why the int64 path matters.
	Float64Only string `json:"float64_only,omitempty"`
}

type output struct {
	Generator string   `json:"generator"`
	GoVersion string   `json:"go_version"`
	Decode    string   `json:"decode"`
	Vectors   []vector `json:"vectors"`
}

func main() {
	path := "tests/go_json_vectors/inputs.json"
	if len(os.Args) > 1 {
		path = os.Args[1]
	}
	raw, err := os.ReadFile(path)
	check(err)
	var inputs []input
	check(json.Unmarshal(raw, &inputs))

	out := output{
		Generator: "tests/go_json_vectors/gen.go",
		GoVersion: runtime.Version(),
		Decode:    "apimachinery util/json: int64 when strconv.ParseInt accepts the literal, else float64",
	}
	seen := map[string]bool{}
	for _, in := range inputs {
		if seen[in.Name] {
			fail("duplicate vector name %q", in.Name)
		}
		seen[in.Name] = true
		var compact bytes.Buffer
		check(json.Compact(&compact, in.Input))
		v := vector{Name: in.Name, Kind: in.Kind, Input: compact.Bytes()}
		switch in.Kind {
		case "encode":
			v.Expected = string(encode(decodeLikeApimachinery(in.Input)))
			v.Float64Only = string(encode(decodeAllFloat(in.Input)))
		case "patch":
			v.Expected = string(getPatch(decodeLikeApimachinery(in.Input)))
			v.Float64Only = string(getPatch(decodeAllFloat(in.Input)))
		default:
			fail("vector %q: unknown kind %q", in.Name, in.Kind)
		}
		if v.Float64Only == v.Expected {
			v.Float64Only = ""
		}
		out.Vectors = append(out.Vectors, v)
	}
	out.Vectors = append(out.Vectors, floatVectors()...)

	check(write(os.Stdout, out))
}

// write emits one vector per line so that a regenerated file diffs vector by vector.
func write(w io.Writer, out output) error {
	vectors := out.Vectors
	out.Vectors = []vector{}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // keeps expected strings readable; decoding restores the bytes
	if err := enc.Encode(out); err != nil {
		return err
	}
	// The header ends in `"vectors":[]}`; drop the `]}` and append one vector per line.
	header := bytes.TrimSpace(buf.Bytes())
	doc := append([]byte{}, header[:len(header)-2]...)
	for i, v := range vectors {
		buf.Reset()
		if err := enc.Encode(v); err != nil {
			return err
		}
		if i > 0 {
			doc = append(doc, ',')
		}
		doc = append(doc, "\n  "...)
		doc = append(doc, bytes.TrimSpace(buf.Bytes())...)
	}
	doc = append(doc, "\n]}\n"...)
	_, err := w.Write(doc)
	return err
}

// getPatch mirrors kube-controller-manager's getPatch after its Marshal/Unmarshal step,
// including the type assertions (which panic on a malformed DaemonSet, as upstream does).
func getPatch(decoded interface{}) []byte {
	raw := decoded.(map[string]interface{})
	objCopy := make(map[string]interface{})
	specCopy := make(map[string]interface{})
	spec := raw["spec"].(map[string]interface{})
	template := spec["template"].(map[string]interface{})
	specCopy["template"] = template
	template["$patch"] = "replace"
	objCopy["spec"] = specCopy
	return encode(objCopy)
}

func encode(v interface{}) []byte {
	b, err := json.Marshal(v)
	check(err)
	return b
}

func decodeAllFloat(data []byte) interface{} {
	var v interface{}
	check(json.Unmarshal(data, &v))
	return v
}

func decodeLikeApimachinery(data []byte) interface{} {
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	var v interface{}
	check(d.Decode(&v))
	return convert(v)
}

func convert(v interface{}) interface{} {
	switch t := v.(type) {
	case json.Number:
		if i, err := t.Int64(); err == nil {
			return i
		}
		f, err := t.Float64()
		check(err)
		return f
	case map[string]interface{}:
		for k, e := range t {
			t[k] = convert(e)
		}
	case []interface{}:
		for i, e := range t {
			t[i] = convert(e)
		}
	}
	return v
}

// floatVectors exercises float formatting directly on float64 bit patterns, so the Rust
// side is not at the mercy of serde_json's (not always correctly rounded) float parsing.
func floatVectors() []vector {
	var values []float64
	for _, f := range []float64{
		1e-6, math.Nextafter(1e-6, 0), 1e21, math.Nextafter(1e21, 0), 1e20, 1e-7, 1e-9,
		1e-10, 0.1, 0.2, 0.3, 1.0 / 3, 2.0 / 3, 100, 1e15, 1e16, 1e17, 123456.789,
		math.MaxFloat64, math.SmallestNonzeroFloat64, 2.2250738585072014e-308,
		math.Pi, math.E, 9007199254740993, 4.35, 0.000123, 5e-324, 1.7976931348623155e308,
		float64(1 << 62), float64(1<<63) * 2, 1e22, 1e23, 8.41e21, 5.2e-7,
	} {
		values = append(values, f, -f)
	}
	rng := rand.New(rand.NewSource(20240601))
	// Exact ties between two equally short candidates, which Go breaks to an even last
	// digit: an integer part of 15-16 digits plus .25 or .75.
	values = append(values, -895413446982392.25, 895413446982392.75, 1125899906842624.25)
	for i := 0; i < 60; i++ {
		lo := int64(1) << uint(48+rng.Intn(4))
		values = append(values, float64(lo+rng.Int63n(lo))+float64(1+2*rng.Intn(2))/4)
	}
	for len(values) < 600 {
		var f float64
		switch len(values) % 4 {
		case 0: // any finite bit pattern
			f = math.Float64frombits(rng.Uint64())
		case 1: // short decimals, as people write them
			f = float64(rng.Intn(1000000)) / math.Pow(10, float64(rng.Intn(12)))
		case 2: // around the 'e' notation thresholds
			f = math.Pow(10, float64(rng.Intn(10)-8)) * (1 + rng.Float64())
			if rng.Intn(2) == 0 {
				f = 1e21 * (0.5 + rng.Float64())
			}
		case 3: // large integers held in float64
			f = float64(rng.Int63()) * float64(rng.Intn(1000)+1)
		}
		if math.IsNaN(f) || math.IsInf(f, 0) {
			continue
		}
		values = append(values, f)
	}
	vectors := make([]vector, 0, len(values))
	for i, f := range values {
		bits := math.Float64bits(f)
		vectors = append(vectors, vector{
			Name:     fmt.Sprintf("float64 #%d (%s)", i, strconv.FormatFloat(f, 'g', -1, 64)),
			Kind:     "float_bits",
			Bits:     strconv.FormatUint(bits, 10),
			Expected: string(encode(f)),
		})
	}
	return vectors
}

func check(err error) {
	if err != nil {
		fail("%v", err)
	}
}

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "gen: "+format+"\n", args...)
	os.Exit(1)
}
