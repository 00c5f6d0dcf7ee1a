#!/bin/sh
# run_functional.sh - run tests/functional/*.sh with HAMLET (and
# HAMLET_MILTER, BUILD) in the environment; each script prints its own
# "N passed, N failed" last. Totals go to $BUILD/.results.
cd "$(dirname "$0")/functional" || exit 1
tp=0; tf=0
for t in [0-9]*.sh; do
	[ -f "$t" ] || continue
	out=$(sh "$t" 2>&1); rc=$?
	line=$(printf '%s\n' "$out" | grep -E '^[0-9]+ passed, [0-9]+ failed$' | tail -n 1)
	if [ -z "$line" ]; then
		printf '%s\n' "$out" | tail -n 30
		echo "functional: $t printed no summary (exit $rc)"
		tf=$((tf + 1)); continue
	fi
	p=${line%% passed*}; f=${line#*, }; f=${f%% failed}
	if [ "$f" != 0 ] || [ $rc != 0 ]; then
		printf '%s\n' "$out" | grep -v '^ok ' | tail -n 40
		[ "$f" = 0 ] && f=1
	fi
	printf 'functional %-26s %s\n' "$t" "$line"
	tp=$((tp + p)); tf=$((tf + f))
done
echo "functional $tp $tf" >> "$BUILD/.results"
echo "functional tests: $tp passed, $tf failed"
[ "$tf" = 0 ]
