#!/bin/bash
# A/B of the keyword signal: before (main) and after (h/e2e14) test binaries, interleaved.
cd /tmp/e2e14
echo "uptime start: $(uptime)"
for round in 1 2 3 4 5; do
  for v in before after; do
    ./kw-$v.test -test.run XX -test.bench . -test.benchmem -test.count 1 -test.cpu 1 | grep ^Benchmark | sed "s/^/$v /"
    ./dec-$v.test -test.run XX -test.bench . -test.benchmem -test.count 1 -test.cpu 1 | grep ^Benchmark | sed "s/^/$v /"
  done
  echo "uptime round $round: $(uptime)"
done
TIMEFORMAT='%U %S'
for round in 1 2 3; do
  for v in before after; do
    for b in 'signal$' 'signal\+decisions$'; do
      t=$( { time ./kw-$v.test -test.run XX -test.bench "^BenchmarkKeywordDecisions\$/^keywords\$/^$b" -test.benchtime 200000x -test.cpu 1 >/dev/null; } 2>&1 )
      echo "cpu $v keywords/$b user+sys for 200000 ops: $t"
    done
  done
done
echo "uptime end: $(uptime)"
