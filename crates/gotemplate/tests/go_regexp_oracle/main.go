// Command go_regexp_oracle is the reference for signet's regexp syntax test: it reads JSON
// lines, each a pattern string, and writes JSON lines, each regexp.Compile's error text for that
// pattern or null when Go accepts it.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
)

func main() {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<24)
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	for in.Scan() {
		var pattern string
		if err := json.Unmarshal(in.Bytes(), &pattern); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		var answer any
		if _, err := regexp.Compile(pattern); err != nil {
			answer = err.Error()
		}
		line, _ := json.Marshal(answer)
		fmt.Fprintln(out, string(line))
	}
}
