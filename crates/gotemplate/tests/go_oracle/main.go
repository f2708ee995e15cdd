// Command go_oracle is the reference for signet's differential test: it renders templates with
// Go's own text/template. It reads JSON lines {"t": template, "d": data, "opt": option} and
// writes JSON lines {"out": output, "err": error}; with "tree": true it answers
// {"tree": Root.String()} (the parse tree as Go prints it) instead of executing. JSON numbers
// without fraction or exponent become Go ints, as in the corpus convention.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"text/template"
)

// Reads JSON lines {"t": template, "d": data-json} and prints JSON lines {"out":..., "err":...}.
func main() {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<24)
	enc := json.NewEncoder(os.Stdout)
	for in.Scan() {
		var req struct {
			T   string          `json:"t"`
			D   json.RawMessage `json:"d"`
			Opt string          `json:"opt"`
			// Tree: answer with the parse tree as Root.String() prints it, not the output.
			Tree bool `json:"tree"`
		}
		if err := json.Unmarshal(in.Bytes(), &req); err != nil {
			enc.Encode(map[string]string{"err": "bad request"})
			continue
		}
		var data any
		if len(req.D) > 0 {
			dec := json.NewDecoder(strings.NewReader(string(req.D)))
			dec.UseNumber()
			dec.Decode(&data)
			data = conv(data)
		}
		res := map[string]string{}
		func() {
			defer func() {
				if r := recover(); r != nil {
					res["err"] = fmt.Sprintf("PANIC: %v", r)
				}
			}()
			t := template.New("t").Funcs(template.FuncMap{
				"add": func(args ...int) int {
					s := 0
					for _, a := range args {
						s += a
					}
					return s
				},
				"dddArg": func(a int, b ...string) string { return fmt.Sprintln(a, b) },
				"die":    func() bool { panic("die") },
				"echo":   func(arg any) any { return arg },
				"makemap": func(arg ...string) map[string]string {
					m := map[string]string{}
					for i := 0; i < len(arg); i += 2 {
						m[arg[i]] = arg[i+1]
					}
					return m
				},
				"mapOfThree":  func() any { return map[string]int{"three": 3} },
				"oneArg":      func(a string) string { return "oneArg=" + a },
				"returnInt":   func() int { return 7 },
				"twoArgs":     func(a, b string) string { return "twoArgs=" + a + b },
				"typeOf":      func(arg any) string { return fmt.Sprintf("%T", arg) },
				"valueString": func(v string) string { return "value is ignored" },
				"zeroArgs":    func() string { return "zeroArgs" },
				"contains":    strings.Contains,
			})
			if req.Opt != "" {
				t.Option(req.Opt)
			}
			t, err := t.Parse(req.T)
			if err != nil {
				res["err"] = err.Error()
				return
			}
			if req.Tree {
				res["tree"] = t.Tree.Root.String()
				return
			}
			var sb strings.Builder
			if err := t.Execute(&sb, data); err != nil {
				res["err"] = err.Error()
				res["out"] = sb.String()
				return
			}
			res["out"] = sb.String()
		}()
		enc.Encode(res)
	}
}

func conv(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = conv(e)
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = conv(e)
		}
		return x
	case json.Number:
		if strings.ContainsAny(string(x), ".eE") {
			f, _ := x.Float64()
			return f
		}
		i, err := x.Int64()
		if err != nil {
			f, _ := x.Float64()
			return f
		}
		return int(i)
	}
	return v
}
