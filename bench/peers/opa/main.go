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
	"syscall"
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

// CPU time of the whole process (all threads, so the garbage collector counts), in ns: on a
// shared machine wall time also counts time spent descheduled.
func cpuNanos() float64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return float64(ru.Utime.Nano() + ru.Stime.Nano())
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
	var wall, cpu []float64
	for r := 0; r < 5; r++ {
		start := time.Now()
		cpuStart := cpuNanos()
		for i := 0; i < iterations; i++ {
			eval()
		}
		cpu = append(cpu, (cpuNanos()-cpuStart)/float64(iterations))
		wall = append(wall, float64(time.Since(start).Nanoseconds())/float64(iterations))
	}
	sort.Float64s(wall)
	sort.Float64s(cpu)
	fmt.Printf("opa %s: median cpu %.0f ns/decision, wall %.0f ns (5 repetitions of %d decisions)\n",
		label, cpu[2], wall[2], iterations)
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
