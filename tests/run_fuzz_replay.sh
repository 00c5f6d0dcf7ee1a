#!/bin/sh
# run_fuzz_replay.sh BUILD BIN... - replay every corpus file and past
# crasher of each fuzz target (tests/fuzz/corpus/<target>/*).
build=$1; shift
tp=0; tf=0
for t in "$@"; do
	name=$(basename "$t")
	dir=tests/fuzz/corpus/${name#fuzz_}
	[ -d "$dir" ] || continue
	if "$t" "$dir"/* > "$build/$name.log" 2>&1; then
		tp=$((tp + 1))
	else
		tail -n 20 "$build/$name.log"; echo "fuzz replay $name FAILED"
		tf=$((tf + 1))
	fi
done
echo "fuzz $tp $tf" >> "$build/.results"
echo "fuzz replay ($build): $tp passed, $tf failed"
[ "$tf" = 0 ]
