#!/bin/sh
# run_unit.sh BUILD BIN... - run each unit test binary, sum their
# "N passed, N failed" lines, record the totals in BUILD/.results.
build=$1; shift
tp=0; tf=0
for t in "$@"; do
	out=$("$t" 2>&1); rc=$?
	line=$(printf '%s\n' "$out" | grep -E '^[0-9]+ passed, [0-9]+ failed$' | tail -n 1)
	if [ -z "$line" ]; then
		printf '%s\n' "$out"
		echo "unit: $(basename "$t") crashed or printed no summary (exit $rc)"
		tf=$((tf + 1)); continue
	fi
	p=${line%% passed*}; f=${line#*, }; f=${f%% failed}
	if [ "$f" != 0 ] || [ $rc != 0 ]; then
		printf '%s\n' "$out" | grep -v '^[0-9]* passed'
		[ "$f" = 0 ] && f=1
	fi
	printf 'unit %-28s %s\n' "$(basename "$t")" "$line"
	tp=$((tp + p)); tf=$((tf + f))
done
echo "unit $tp $tf" >> "$build/.results"
echo "unit tests ($build): $tp passed, $tf failed"
[ "$tf" = 0 ]
