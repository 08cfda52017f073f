// OPA peer harness: the same 1,000 allow rules (one tool per namespace) plus one deny as kars's
// BM_Peer_Decide, as Rego evaluated through a prepared query with pre-parsed input. Prints the
// median of 5 repetitions in ns per decision.
package main

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
)

func module(n int) string {
	var b strings.Builder
	b.WriteString("package kars.bench\n\ndefault result := false\n\nresult if {\n\tsome_allow\n\tnot deny\n}\n\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "some_allow if {\n\tinput.tool == \"tool-%d\"\n\tinput.namespace == \"ns-%d\"\n}\n\n", i, i%10)
	}
	b.WriteString("deny if input.agent == \"mallory\"\n")
	return b.String()
}

func measure(label string, eval func() bool, expect bool) {
	if eval() != expect {
		fmt.Fprintf(os.Stderr, "opa %s decided wrongly\n", label)
		os.Exit(1)
	}
	// Enough iterations for each repetition to take at least 200 ms.
	iterations := 1
	for {
		start := time.Now()
		for i := 0; i < iterations; i++ {
			eval()
		}
		if time.Since(start) >= 200*time.Millisecond {
			break
		}
		iterations *= 2
	}
	var reps []float64
	for r := 0; r < 5; r++ {
		start := time.Now()
		for i := 0; i < iterations; i++ {
			eval()
		}
		reps = append(reps, float64(time.Since(start).Nanoseconds())/float64(iterations))
	}
	sort.Float64s(reps)
	fmt.Printf("opa %s: median %.0f ns/decision (5 repetitions of %d decisions; min %.0f, max %.0f)\n",
		label, reps[2], iterations, reps[0], reps[4])
}

func main() {
	n := 1000
	if len(os.Args) > 1 {
		n, _ = strconv.Atoi(os.Args[1])
	}
	ctx := context.Background()
	pq, err := rego.New(rego.Query("data.kars.bench.result"), rego.Module("bench.rego", module(n))).PrepareForEval(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	input := func(agent, ns, tool string) ast.Value {
		v, err := ast.InterfaceToValue(map[string]interface{}{"agent": agent, "namespace": ns, "tool": tool})
		if err != nil {
			panic(err)
		}
		return v
	}
	decide := func(in ast.Value) func() bool {
		return func() bool {
			rs, err := pq.Eval(ctx, rego.EvalParsedInput(in))
			if err != nil || len(rs) != 1 {
				panic(fmt.Sprint("eval: ", err))
			}
			b, _ := rs[0].Expressions[0].Value.(bool)
			return b
		}
	}
	fmt.Printf("opa (embedded rego, prepared query): %d allow rules + 1 deny\n", n)
	measure("allow", decide(input("alice", "ns-7", "tool-517")), true)
	measure("deny", decide(input("bob", "ns-1", "tool-517")), false)
}
